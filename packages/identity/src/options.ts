import { IdentityError } from "./errors.js";

/** Configuration for verifying tokens of an external OIDC issuer. */
export interface OidcOptions {
  /** Issuer URL, exactly as in the tokens' `iss` and the discovery document. */
  issuer: string;
  /** The token's `aud` must contain one of these. */
  audience: string | string[];
  /** Allowed JWS algorithms. Default ["RS256", "ES256"]. "none" and HS* are refused. */
  algorithms?: string[];
  /** Claim path of the groups. Default "groups". Dotted paths ("realm_access.roles"); a key with ':' works. */
  groupsClaim?: string;
  /** Clock tolerance for exp/nbf in seconds. Default 30, at most 300. */
  clockToleranceSec?: number;
  /** Verified tokens kept (LRU, until exp). Default 10000; 0 disables the cache. */
  cacheMaxEntries?: number;
  /** Timeout of each discovery/JWKS request. Default 5000 ms. */
  fetchTimeoutMs?: number;
  /** Minimum time between JWKS refetches caused by an unknown kid. Default 30000 ms. */
  jwksCooldownMs?: number;
  /** Age after which the JWKS is refreshed in the background. Default 600000 ms. */
  jwksMaxAgeMs?: number;
  /** First wait after a failed discovery/JWKS fetch; doubles per failure. Default 1000 ms. */
  retryMinMs?: number;
  /** Longest wait between attempts to reach a failing IdP. Default 60000 ms. */
  retryMaxMs?: number;
  /** Allow an http:// issuer on a non-loopback host (keys would be fetched without TLS). Default false. */
  allowInsecureIssuer?: boolean;
}

export interface ResolvedOidcOptions {
  issuer: string;
  issuerUrl: URL;
  audiences: string[];
  algorithms: string[];
  groupsClaim: string;
  clockToleranceSec: number;
  cacheMaxEntries: number;
  fetchTimeoutMs: number;
  jwksCooldownMs: number;
  jwksMaxAgeMs: number;
  retryMinMs: number;
  retryMaxMs: number;
}

/** Asymmetric JWS algorithms that a public JWKS can verify. */
export const SUPPORTED_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
] as const;

export const DEFAULT_ALGORITHMS = ["RS256", "ES256"];
export const DEFAULT_GROUPS_CLAIM = "groups";

function invalid(key: string, message: string): IdentityError {
  return new IdentityError("config_invalid", `${key}: ${message}`);
}

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

function parseIssuer(issuer: unknown, allowInsecure: boolean): URL {
  if (typeof issuer !== "string" || issuer === "") throw invalid("issuer", "required (the OIDC issuer URL)");
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw invalid("issuer", `"${issuer}" is not a URL; expected e.g. https://idp.example.com/realms/main`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw invalid("issuer", `"${issuer}" must be an https:// URL`);
  }
  if (url.search !== "" || url.hash !== "" || url.username !== "" || url.password !== "") {
    throw invalid("issuer", `"${issuer}" must not contain a query, fragment or credentials`);
  }
  if (url.protocol === "http:" && !isLoopback(url.hostname) && !allowInsecure) {
    throw invalid(
      "issuer",
      `"${issuer}" uses http:// on a non-loopback host, so signing keys would be fetched without TLS; ` +
        "use https:// (or set allowInsecureIssuer for a lab setup)",
    );
  }
  return url;
}

export function validateAlgorithms(algorithms: unknown): string[] {
  if (algorithms === undefined) return [...DEFAULT_ALGORITHMS];
  if (!Array.isArray(algorithms) || algorithms.length === 0) {
    throw invalid("algorithms", `must be a non-empty list, e.g. ${DEFAULT_ALGORITHMS.join(",")}`);
  }
  const supported: readonly string[] = SUPPORTED_ALGORITHMS;
  for (const alg of algorithms) {
    if (typeof alg !== "string") throw invalid("algorithms", "every entry must be a string");
    if (alg.toLowerCase() === "none")
      throw invalid("algorithms", '"none" (unsigned tokens) is never allowed');
    if (/^HS\d+$/i.test(alg)) {
      throw invalid(
        "algorithms",
        `${alg} is an HMAC (shared secret) algorithm and cannot be verified against the IdP's public keys; ` +
          "allowing it would let anyone forge tokens with a public key as the secret",
      );
    }
    if (!supported.includes(alg)) {
      throw invalid(
        "algorithms",
        `"${alg}" is not supported; choose from ${SUPPORTED_ALGORITHMS.join(", ")}`,
      );
    }
  }
  return [...new Set(algorithms as string[])];
}

export function validateGroupsClaim(groupsClaim: unknown): string {
  if (groupsClaim === undefined) return DEFAULT_GROUPS_CLAIM;
  if (typeof groupsClaim !== "string" || groupsClaim.trim() === "") {
    throw invalid("groupsClaim", 'must be a non-empty claim path such as "groups" or "realm_access.roles"');
  }
  return groupsClaim.trim();
}

function integer(key: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(key, `must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

function audiences(audience: unknown): string[] {
  const list = typeof audience === "string" ? [audience] : audience;
  if (!Array.isArray(list) || list.length === 0 || !list.every((a) => typeof a === "string" && a !== "")) {
    throw invalid("audience", "required: the audience (client id) your IdP puts in tokens for the gateway");
  }
  return list as string[];
}

/** Validates options and fills defaults. Throws {@link IdentityError} `config_invalid` naming the key. */
export function resolveOidcOptions(opts: OidcOptions): ResolvedOidcOptions {
  const issuerUrl = parseIssuer(opts.issuer, opts.allowInsecureIssuer === true);
  const retryMinMs = integer("retryMinMs", opts.retryMinMs, 1000, 0, 3_600_000);
  const retryMaxMs = integer(
    "retryMaxMs",
    opts.retryMaxMs,
    Math.max(60_000, retryMinMs),
    retryMinMs,
    86_400_000,
  );
  return {
    issuer: opts.issuer,
    issuerUrl,
    audiences: audiences(opts.audience),
    algorithms: validateAlgorithms(opts.algorithms),
    groupsClaim: validateGroupsClaim(opts.groupsClaim),
    clockToleranceSec: integer("clockToleranceSec", opts.clockToleranceSec, 30, 0, 300),
    cacheMaxEntries: integer("cacheMaxEntries", opts.cacheMaxEntries, 10_000, 0, 10_000_000),
    fetchTimeoutMs: integer("fetchTimeoutMs", opts.fetchTimeoutMs, 5000, 1, 120_000),
    jwksCooldownMs: integer("jwksCooldownMs", opts.jwksCooldownMs, 30_000, 0, 3_600_000),
    jwksMaxAgeMs: integer("jwksMaxAgeMs", opts.jwksMaxAgeMs, 600_000, 100, 86_400_000),
    retryMinMs,
    retryMaxMs,
  };
}
