import { createSecureContext, type SecureContext } from "node:tls";
import type { CertificateAuthority } from "./authority.js";
import { type LeafKey, mintLeaf } from "./leaf.js";

export interface CertificateCacheOptions {
  /** Most hosts to keep (LRU). The intercept list is small; the bound only stops a wildcard from growing it without end. */
  maxEntries?: number;
  /** Re-mint an entry older than this, well before its certificate expires. */
  refreshAfterMs?: number;
  now?: () => number;
}

interface Entry {
  context: SecureContext;
  mintedAt: number;
  notAfter: number;
}

export interface CertificateCacheStats {
  size: number;
  hits: number;
  mints: number;
  /** Total milliseconds spent minting + building SecureContexts. */
  mintMs: number;
}

/**
 * host → SecureContext, minted on first use with single-flight (concurrent CONNECTs to a new host share
 * one mint). Minting is synchronous and ~1 ms, so single-flight mostly guards the future async signers
 * (KMS/HSM); the promise API keeps that door open.
 */
export class CertificateCache {
  readonly #ca: CertificateAuthority;
  readonly #key: LeafKey;
  readonly #entries = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<SecureContext>>();
  readonly #max: number;
  readonly #refreshAfter: number;
  readonly #now: () => number;
  readonly stats: CertificateCacheStats = { size: 0, hits: 0, mints: 0, mintMs: 0 };

  constructor(ca: CertificateAuthority, key: LeafKey, opts: CertificateCacheOptions = {}) {
    this.#ca = ca;
    this.#key = key;
    this.#max = opts.maxEntries ?? 1000;
    this.#refreshAfter = opts.refreshAfterMs ?? 24 * 60 * 60 * 1000;
    this.#now = opts.now ?? Date.now;
  }

  get ca(): CertificateAuthority {
    return this.#ca;
  }

  /** The cached context when fresh, without allocating a promise (the hot path). */
  peek(host: string): SecureContext | undefined {
    const e = this.#entries.get(host);
    if (!e) return undefined;
    const now = this.#now();
    if (now - e.mintedAt > this.#refreshAfter || now >= e.notAfter) return undefined;
    // LRU: move to the end.
    this.#entries.delete(host);
    this.#entries.set(host, e);
    this.stats.hits++;
    return e.context;
  }

  get(host: string): Promise<SecureContext> {
    const hit = this.peek(host);
    if (hit) return Promise.resolve(hit);
    let p = this.#inflight.get(host);
    if (!p) {
      p = new Promise<SecureContext>((resolve) => resolve(this.#mint(host))).finally(() =>
        this.#inflight.delete(host),
      );
      this.#inflight.set(host, p);
    }
    return p;
  }

  /** Mints every host now (configured non-wildcard hosts at start). */
  async prewarm(hosts: readonly string[]): Promise<void> {
    await Promise.all(hosts.map((h) => this.get(h)));
  }

  #mint(host: string): SecureContext {
    const started = performance.now();
    const leaf = mintLeaf(this.#ca, this.#key, host, new Date(this.#now()));
    const context = createSecureContext({ key: this.#key.privateKeyPem, cert: leaf.certChainPem });
    this.#entries.set(host, { context, mintedAt: this.#now(), notAfter: leaf.notAfter.getTime() });
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
    this.stats.mints++;
    this.stats.mintMs += performance.now() - started;
    this.stats.size = this.#entries.size;
    return context;
  }
}
