import { createHash } from "node:crypto";
import type { Identity } from "./claims.js";

/** sha256 hex of the raw token: the cache key and {@link Identity.tokenFingerprint}. */
export function fingerprintToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export interface CachedToken {
  identity: Identity;
  /** `exp` claim, seconds. */
  exp: number;
}

/** Verified tokens by fingerprint, least recently used evicted first. A Map keeps insertion order. */
export class TokenCache {
  readonly #max: number;
  readonly #entries = new Map<string, CachedToken>();
  hits = 0;
  misses = 0;

  constructor(maxEntries: number) {
    this.#max = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(fingerprint: string): CachedToken | undefined {
    const entry = this.#entries.get(fingerprint);
    if (entry === undefined) {
      this.misses += 1;
      return undefined;
    }
    this.hits += 1;
    this.#entries.delete(fingerprint);
    this.#entries.set(fingerprint, entry);
    return entry;
  }

  set(fingerprint: string, entry: CachedToken): void {
    if (this.#max === 0) return;
    this.#entries.delete(fingerprint);
    this.#entries.set(fingerprint, entry);
    if (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
  }

  delete(fingerprint: string): void {
    this.#entries.delete(fingerprint);
  }

  clear(): void {
    this.#entries.clear();
  }
}
