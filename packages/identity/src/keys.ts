import { type CryptoKey, createLocalJWKSet, errors, type JSONWebKeySet } from "jose";
import { IdentityError } from "./errors.js";
import { clip } from "./text.js";

export type KeyMatcher = ReturnType<typeof createLocalJWKSet>;

export interface KeyRequest {
  alg: string;
  kid: string | undefined;
}

/** Where verification keys come from (a remote JWKS or the embedded issuer's key). */
export interface KeySource {
  /** Candidate keys for this header. Throws IdentityError `unknown_key` or `idp_unavailable`. */
  keysFor(request: KeyRequest): Promise<CryptoKey[]>;
  /** Human-readable origin of the keys, for messages (e.g. the JWKS URL). */
  describe(): string;
  status(): KeySourceStatus;
  /** Loads keys now; throws `idp_unavailable` when that is impossible. */
  prefetch(): Promise<void>;
  close(): void;
}

export interface KeySourceStatus {
  /** URL of the JWKS, or "embedded". */
  source: string;
  /** Keys in the current set (0 = none loaded yet). */
  keys: number;
  /** Last successful load. */
  loadedAt: Date | null;
  /** Why the last attempt to reach the IdP failed; null after a success. */
  lastError: string | null;
  /** Consecutive failed attempts. */
  failures: number;
}

/** Builds a matcher over a JWKS document; throws (jose JWKSInvalid) when the document is not a key set. */
export function keyMatcher(jwks: unknown): { matcher: KeyMatcher; count: number } {
  const matcher = createLocalJWKSet(jwks as JSONWebKeySet);
  return { matcher, count: (jwks as JSONWebKeySet).keys.length };
}

/** Keys in the set usable for this alg and kid, or null when none match. */
export async function matchKeys(matcher: KeyMatcher, request: KeyRequest): Promise<CryptoKey[] | null> {
  const header = request.kid === undefined ? { alg: request.alg } : { alg: request.alg, kid: request.kid };
  try {
    return [await matcher(header)];
  } catch (err) {
    if (err instanceof errors.JWKSNoMatchingKey) return null;
    if (err instanceof errors.JWKSMultipleMatchingKeys) {
      const keys: CryptoKey[] = [];
      for await (const key of err as unknown as AsyncIterable<CryptoKey>) keys.push(key);
      return keys.length > 0 ? keys : null;
    }
    throw new IdentityError(
      "unknown_key",
      `the ${request.alg} key${request.kid === undefined ? "" : ` with kid ${clip(request.kid)}`} cannot be used: ${
        err instanceof Error ? err.message : String(err)
      }`,
      { kid: request.kid, cause: err },
    );
  }
}

export function describeKey(request: KeyRequest): string {
  return request.kid === undefined
    ? `no ${request.alg} key (the token has no kid)`
    : `no ${request.alg} key with kid ${clip(request.kid)}`;
}

/** A fixed key set, used for the embedded issuer. */
export class StaticKeySource implements KeySource {
  readonly #matcher: KeyMatcher;
  readonly #count: number;
  readonly #name: string;
  readonly #loadedAt = new Date();

  constructor(jwks: JSONWebKeySet, name: string) {
    const { matcher, count } = keyMatcher(jwks);
    this.#matcher = matcher;
    this.#count = count;
    this.#name = name;
  }

  async keysFor(request: KeyRequest): Promise<CryptoKey[]> {
    const keys = await matchKeys(this.#matcher, request);
    if (keys === null) {
      throw new IdentityError("unknown_key", `${describeKey(request)} in ${this.#name}`, {
        kid: request.kid,
      });
    }
    return keys;
  }

  describe(): string {
    return this.#name;
  }

  status(): KeySourceStatus {
    return { source: this.#name, keys: this.#count, loadedAt: this.#loadedAt, lastError: null, failures: 0 };
  }

  async prefetch(): Promise<void> {}

  close(): void {}
}
