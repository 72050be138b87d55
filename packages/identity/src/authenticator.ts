import { copyIdentity, type Identity } from "./claims.js";
import { parseProxyAuthorization } from "./credentials.js";
import { EMBEDDED_ALGORITHM, type EmbeddedIssuer } from "./embedded.js";
import { IdentityError } from "./errors.js";
import { type KeySource, type KeySourceStatus, StaticKeySource } from "./keys.js";
import { type OidcOptions, resolveOidcOptions, validateGroupsClaim } from "./options.js";
import { RemoteKeySource } from "./remote-keys.js";
import { type CachedToken, fingerprintToken, TokenCache } from "./token-cache.js";
import { checkExpiry, type VerifierConfig, verifyToken } from "./verify.js";

export interface EmbeddedAuthenticatorOptions {
  embedded: EmbeddedIssuer;
  groupsClaim?: string;
  clockToleranceSec?: number;
  cacheMaxEntries?: number;
}

export interface AuthenticatorStatus extends KeySourceStatus {
  issuer: string;
  cacheEntries: number;
  cacheHits: number;
  cacheMisses: number;
}

export interface Authenticator {
  /** Parses the header, verifies (cached by token hash until exp), maps claims. Throws IdentityError. */
  authenticate(proxyAuthorization: string | string[] | undefined, now?: Date): Promise<Identity>;
  /** Same as authenticate() for a bare token (e.g. a CLI `token --check`). */
  verify(token: string, now?: Date): Promise<Identity>;
  /** Throws `token_expired` when the identity's token has expired at `now` (per-exchange check in tunnels). */
  assertNotExpired(identity: Identity, now?: Date): void;
  /** Loads the signing keys now (at start-up); throws `idp_unavailable` if impossible. */
  prefetch(): Promise<void>;
  /** For /healthz and /metrics: keys loaded, last IdP error, cache counters. */
  status(): AuthenticatorStatus;
  readonly issuer: string;
  readonly audiences: readonly string[];
  close(): void;
}

interface AuthenticatorConfig extends VerifierConfig {
  cacheMaxEntries: number;
}

function integerOption(key: string, value: number | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new IdentityError(
      "config_invalid",
      `${key}: must be an integer from 0 to ${max}, got ${String(value)}`,
    );
  }
  return value;
}

function embeddedConfig(opts: EmbeddedAuthenticatorOptions): AuthenticatorConfig {
  const { embedded } = opts;
  return {
    issuer: embedded.issuer,
    audiences: [embedded.audience],
    algorithms: [EMBEDDED_ALGORITHM],
    groupsClaim: validateGroupsClaim(opts.groupsClaim),
    clockToleranceSec: integerOption("clockToleranceSec", opts.clockToleranceSec, 30, 300),
    cacheMaxEntries: integerOption("cacheMaxEntries", opts.cacheMaxEntries, 10_000, 10_000_000),
    keys: new StaticKeySource(embedded.jwks(), `the embedded issuer key ${embedded.keyFile}`),
  };
}

function oidcConfig(opts: OidcOptions): AuthenticatorConfig {
  const resolved = resolveOidcOptions(opts);
  return { ...resolved, keys: new RemoteKeySource(resolved) };
}

class CachingAuthenticator implements Authenticator {
  readonly #cfg: AuthenticatorConfig;
  readonly #keys: KeySource;
  readonly #cache: TokenCache;
  readonly #inflight = new Map<string, Promise<CachedToken>>();
  #closed = false;

  constructor(cfg: AuthenticatorConfig) {
    this.#cfg = cfg;
    this.#keys = cfg.keys;
    this.#cache = new TokenCache(cfg.cacheMaxEntries);
  }

  get issuer(): string {
    return this.#cfg.issuer;
  }

  get audiences(): readonly string[] {
    return this.#cfg.audiences;
  }

  authenticate(proxyAuthorization: string | string[] | undefined, now?: Date): Promise<Identity> {
    try {
      return this.verify(parseProxyAuthorization(proxyAuthorization), now);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async verify(token: string, now: Date = new Date()): Promise<Identity> {
    if (this.#closed) throw new IdentityError("idp_unavailable", "the authenticator is closed");
    const nowMs = now.getTime();
    const fingerprint = fingerprintToken(token);
    const cached = this.#cache.get(fingerprint);
    if (cached !== undefined) {
      try {
        checkExpiry(cached.exp, nowMs, this.#cfg.clockToleranceSec);
      } catch (err) {
        this.#cache.delete(fingerprint);
        throw err;
      }
      return copyIdentity(cached.identity);
    }
    let pending = this.#inflight.get(fingerprint);
    if (pending === undefined) {
      pending = verifyToken(token, fingerprint, this.#cfg, nowMs);
      this.#inflight.set(fingerprint, pending);
      pending.then(
        (entry) => {
          this.#inflight.delete(fingerprint);
          if (!this.#closed) this.#cache.set(fingerprint, entry);
        },
        () => this.#inflight.delete(fingerprint),
      );
    }
    const entry = await pending;
    checkExpiry(entry.exp, nowMs, this.#cfg.clockToleranceSec);
    return copyIdentity(entry.identity);
  }

  assertNotExpired(identity: Identity, now: Date = new Date()): void {
    checkExpiry(identity.expiresAt.getTime() / 1000, now.getTime(), this.#cfg.clockToleranceSec);
  }

  prefetch(): Promise<void> {
    return this.#keys.prefetch();
  }

  status(): AuthenticatorStatus {
    return {
      issuer: this.#cfg.issuer,
      ...this.#keys.status(),
      cacheEntries: this.#cache.size,
      cacheHits: this.#cache.hits,
      cacheMisses: this.#cache.misses,
    };
  }

  close(): void {
    this.#closed = true;
    this.#keys.close();
    this.#cache.clear();
  }
}

/**
 * An authenticator for an external OIDC issuer (discovery + remote JWKS) or for the embedded issuer.
 * Options are validated here: a bad value throws {@link IdentityError} `config_invalid` naming the key.
 */
export function createAuthenticator(opts: OidcOptions | EmbeddedAuthenticatorOptions): Authenticator {
  const cfg = "embedded" in opts ? embeddedConfig(opts) : oidcConfig(opts);
  return new CachingAuthenticator(cfg);
}
