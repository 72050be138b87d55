import type { CryptoKey } from "jose";
import { discoverJwksUri } from "./discovery.js";
import { IdentityError } from "./errors.js";
import { FetchFailure, fetchJson } from "./fetch-json.js";
import {
  describeKey,
  type KeyMatcher,
  type KeyRequest,
  type KeySource,
  type KeySourceStatus,
  keyMatcher,
  matchKeys,
} from "./keys.js";

export interface RemoteKeySourceOptions {
  issuer: string;
  fetchTimeoutMs: number;
  jwksCooldownMs: number;
  jwksMaxAgeMs: number;
  retryMinMs: number;
  retryMaxMs: number;
}

/**
 * Keys of an OIDC issuer: discovery (lazy, once it succeeds), then the JWKS.
 * - Single flight: concurrent callers share one fetch.
 * - Unknown kid: refetch, at most once per `jwksCooldownMs`, so key rotation works without a restart.
 * - Older than `jwksMaxAgeMs`: refreshed in the background; the current keys keep verifying meanwhile.
 * - A failed fetch backs off (`retryMinMs` doubling up to `retryMaxMs`); cached keys keep working
 *   (stale-if-error), and with no keys at all callers get `idp_unavailable` without waiting.
 */
export class RemoteKeySource implements KeySource {
  readonly #opts: RemoteKeySourceOptions;
  readonly #abort = new AbortController();
  #jwksUri: string | null = null;
  #matcher: KeyMatcher | null = null;
  #count = 0;
  #loadedAt = 0;
  #lastAttemptAt = Number.NEGATIVE_INFINITY;
  #failures = 0;
  #retryAt = 0;
  #lastError: string | null = null;
  #pending: Promise<void> | null = null;
  #closed = false;

  constructor(opts: RemoteKeySourceOptions) {
    this.#opts = opts;
  }

  describe(): string {
    return this.#jwksUri ?? `the JWKS of ${this.#opts.issuer}`;
  }

  status(): KeySourceStatus {
    return {
      source: this.#jwksUri ?? this.#opts.issuer,
      keys: this.#count,
      loadedAt: this.#loadedAt === 0 ? null : new Date(this.#loadedAt),
      lastError: this.#lastError,
      failures: this.#failures,
    };
  }

  async prefetch(): Promise<void> {
    await this.#loadCold();
  }

  close(): void {
    this.#closed = true;
    this.#abort.abort();
  }

  async keysFor(request: KeyRequest): Promise<CryptoKey[]> {
    if (this.#matcher === null) await this.#loadCold();
    else if (Date.now() - this.#loadedAt > this.#opts.jwksMaxAgeMs && !this.#inBackoff()) {
      this.#refresh().catch(() => undefined);
    }
    const found = await matchKeys(this.#matcher!, request);
    if (found !== null) return found;
    return this.#unknownKey(request);
  }

  async #unknownKey(request: KeyRequest): Promise<CryptoKey[]> {
    if (this.#pending !== null) {
      await this.#pending.catch(() => undefined);
    } else if (this.#failures > 0) {
      // The last attempt failed: the backoff, not the cooldown, decides when to try again.
      if (this.#inBackoff()) throw this.#unavailableForKid(request);
      await this.#refresh().catch(() => undefined);
    } else if (Date.now() - this.#lastAttemptAt < this.#opts.jwksCooldownMs) {
      const ago = Math.round((Date.now() - this.#loadedAt) / 1000);
      throw new IdentityError(
        "unknown_key",
        `${describeKey(request)} in ${this.describe()} (fetched ${ago}s ago; not refetched within the ` +
          `${Math.round(this.#opts.jwksCooldownMs / 1000)}s cooldown)`,
        { kid: request.kid },
      );
    } else {
      await this.#refresh().catch(() => undefined);
    }
    if (this.#lastError !== null) throw this.#unavailableForKid(request);
    const found = await matchKeys(this.#matcher!, request);
    if (found !== null) return found;
    throw new IdentityError("unknown_key", `${describeKey(request)} in ${this.describe()} (refetched)`, {
      kid: request.kid,
    });
  }

  /**
   * An unknown kid while the IdP cannot be reached: the token may be signed by a key the IdP rotated in,
   * so this is reported as `idp_unavailable` (503, "retry later"), not as a bad token (407).
   */
  #unavailableForKid(request: KeyRequest): IdentityError {
    return new IdentityError(
      "idp_unavailable",
      `${describeKey(request)} in the cached keys of ${this.describe()}, and refreshing them failed ` +
        `(${this.#lastError ?? "unknown error"}); the token may be valid: retry when the IdP is reachable`,
      { kid: request.kid, retryAfterSec: this.#retryAfterSec() },
    );
  }

  async #loadCold(): Promise<void> {
    if (this.#closed) throw new IdentityError("idp_unavailable", "the authenticator is closed");
    if (this.#matcher !== null) return;
    if (this.#pending === null && this.#inBackoff()) throw this.#coldUnavailable();
    try {
      await this.#refresh();
    } catch {
      throw this.#coldUnavailable();
    }
  }

  #coldUnavailable(): IdentityError {
    return new IdentityError(
      "idp_unavailable",
      `cannot load signing keys of the IdP ${this.#opts.issuer}: ${this.#lastError ?? "unknown error"}; ` +
        "the token may be valid: retry when the IdP is reachable",
      { retryAfterSec: this.#retryAfterSec() },
    );
  }

  #inBackoff(): boolean {
    return this.#failures > 0 && Date.now() < this.#retryAt;
  }

  #retryAfterSec(): number {
    return Math.max(1, Math.ceil((this.#retryAt - Date.now()) / 1000));
  }

  #refresh(): Promise<void> {
    if (this.#pending === null) {
      this.#lastAttemptAt = Date.now();
      this.#pending = this.#load().then(
        () => {
          this.#failures = 0;
          this.#lastError = null;
        },
        (err: unknown) => {
          this.#failures += 1;
          const backoff = Math.min(this.#opts.retryMaxMs, this.#opts.retryMinMs * 2 ** (this.#failures - 1));
          this.#retryAt = Date.now() + backoff;
          this.#lastError = err instanceof Error ? err.message : String(err);
          throw err;
        },
      );
      this.#pending.then(
        () => {
          this.#pending = null;
        },
        () => {
          this.#pending = null;
        },
      );
    }
    return this.#pending;
  }

  async #load(): Promise<void> {
    const { issuer, fetchTimeoutMs } = this.#opts;
    const signal = this.#abort.signal;
    this.#jwksUri ??= await discoverJwksUri(issuer, fetchTimeoutMs, signal);
    const jwks = await fetchJson(this.#jwksUri, fetchTimeoutMs, signal);
    let built: ReturnType<typeof keyMatcher>;
    try {
      built = keyMatcher(jwks);
    } catch {
      throw new FetchFailure(`GET ${this.#jwksUri} did not return a JSON Web Key Set`);
    }
    if (this.#closed) throw new FetchFailure("the authenticator is closed");
    this.#matcher = built.matcher;
    this.#count = built.count;
    this.#loadedAt = Date.now();
  }
}
