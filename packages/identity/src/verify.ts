import { compactVerify, decodeJwt, decodeProtectedHeader, errors } from "jose";
import { type Claims, type Identity, mapClaims } from "./claims.js";
import { IdentityError } from "./errors.js";
import type { KeySource } from "./keys.js";
import { clip, show } from "./text.js";

export interface VerifierConfig {
  issuer: string;
  audiences: string[];
  algorithms: string[];
  groupsClaim: string;
  clockToleranceSec: number;
  keys: KeySource;
}

/** Longer tokens are refused before any work (Node's default header limit is 16 KiB). */
export const MAX_TOKEN_LENGTH = 32 * 1024;

function malformed(message: string, cause?: unknown): IdentityError {
  return new IdentityError("malformed_token", message, cause === undefined ? {} : { cause });
}

function iso(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? String(seconds) : date.toISOString();
}

function decode(token: string): { alg: string; kid: string | undefined; claims: Claims } {
  if (token.length > MAX_TOKEN_LENGTH) {
    throw malformed(`token is ${token.length} characters long; at most ${MAX_TOKEN_LENGTH} are accepted`);
  }
  const parts = token.split(".").length;
  if (parts !== 3) {
    throw malformed(
      parts === 5
        ? "token is an encrypted JWT (JWE); send a signed access or ID token"
        : `token is not a JWT: expected 3 dot-separated base64url parts, got ${parts}`,
    );
  }
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>;
  } catch (err) {
    throw malformed("token header is not base64url-encoded JSON", err);
  }
  if (typeof header.alg !== "string" || header.alg === "") throw malformed('token header has no "alg"');
  if (header.kid !== undefined && typeof header.kid !== "string")
    throw malformed('token header "kid" is not a string');
  if (header.b64 === false)
    throw malformed("token uses an unencoded payload (b64: false), which JWTs must not");
  let claims: Claims;
  try {
    claims = decodeJwt(token) as Claims;
  } catch (err) {
    throw malformed("token payload is not a base64url-encoded JSON object", err);
  }
  return { alg: header.alg, kid: header.kid as string | undefined, claims };
}

function checkAlgorithm(alg: string, allowed: string[]): void {
  if (allowed.includes(alg)) return;
  const list = allowed.join(", ");
  if (alg.toLowerCase() === "none") {
    throw new IdentityError(
      "algorithm_not_allowed",
      `token is unsigned (alg "none"); only signed tokens are accepted (allowed: ${list})`,
    );
  }
  if (/^HS\d+$/i.test(alg)) {
    throw new IdentityError(
      "algorithm_not_allowed",
      `token alg "${clip(alg, 40)}" (HMAC, shared secret) is not allowed: tokens must be signed with the IdP's private key (allowed: ${list})`,
    );
  }
  throw new IdentityError(
    "algorithm_not_allowed",
    `token alg "${clip(alg, 40)}" is not allowed (allowed: ${list})`,
  );
}

async function checkSignature(
  token: string,
  alg: string,
  kid: string | undefined,
  cfg: VerifierConfig,
): Promise<void> {
  const keys = await cfg.keys.keysFor({ alg, kid });
  for (const key of keys) {
    try {
      await compactVerify(token, key, { algorithms: cfg.algorithms });
      return;
    } catch (err) {
      if (err instanceof errors.JWSSignatureVerificationFailed) continue;
      if (err instanceof errors.JOSEAlgNotAllowed) checkAlgorithm(alg, cfg.algorithms);
      if (err instanceof errors.JWSInvalid) throw malformed(`token is not a valid JWS: ${err.message}`, err);
      throw new IdentityError(
        "bad_signature",
        `token signature cannot be checked: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err, kid },
      );
    }
  }
  const which = kid === undefined ? `any ${alg} key` : `the key with kid ${clip(kid)}`;
  throw new IdentityError(
    "bad_signature",
    `token signature does not verify with ${which} of ${cfg.keys.describe()}; the token was altered or not issued by ${cfg.issuer}`,
    { kid },
  );
}

function checkIssuer(claims: Claims, issuer: string): void {
  if (claims.iss === issuer) return;
  throw new IdentityError(
    "wrong_issuer",
    claims.iss === undefined
      ? `token has no "iss" claim; expected "${issuer}"`
      : `token issuer ${show(claims.iss)} is not the trusted issuer "${issuer}"`,
  );
}

function checkAudience(claims: Claims, audiences: string[]): void {
  const aud = claims.aud;
  const list = typeof aud === "string" ? [aud] : Array.isArray(aud) ? aud : undefined;
  if (list === undefined || list.length === 0) {
    throw new IdentityError("wrong_audience", `token has no "aud" claim; expected ${audiences.join(" or ")}`);
  }
  if (list.some((a) => typeof a === "string" && audiences.includes(a))) return;
  throw new IdentityError(
    "wrong_audience",
    `token audience [${list
      .slice(0, 10)
      .map((a) => (typeof a === "string" ? a : show(a)))
      .join(", ")
      .slice(0, 300)}] does not include ${audiences.join(" or ")}`,
  );
}

function numericDate(claims: Claims, name: "exp" | "nbf" | "iat"): number | undefined {
  const value = claims[name];
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw malformed(`token "${name}" claim is not a NumericDate (seconds since 1970)`);
  }
  return value;
}

/** Throws `token_expired` when `exp` is past `now` by more than the tolerance. */
export function checkExpiry(exp: number, nowMs: number, toleranceSec: number): void {
  if (exp > nowMs / 1000 - toleranceSec) return;
  throw new IdentityError("token_expired", `token expired at ${iso(exp)} (now ${iso(nowMs / 1000)})`, {
    expiredAt: new Date(exp * 1000),
  });
}

/**
 * Verifies a JWT: shape, alg allow-list, issuer (before any key lookup, so foreign tokens never cause JWKS
 * fetches), signature, audience, exp/nbf with tolerance, then maps the claims. Throws {@link IdentityError}.
 */
export async function verifyToken(
  token: string,
  tokenFingerprint: string,
  cfg: VerifierConfig,
  nowMs: number,
): Promise<{ identity: Identity; exp: number }> {
  const { alg, kid, claims } = decode(token);
  checkAlgorithm(alg, cfg.algorithms);
  checkIssuer(claims, cfg.issuer);
  await checkSignature(token, alg, kid, cfg);
  checkAudience(claims, cfg.audiences);
  const exp = numericDate(claims, "exp");
  numericDate(claims, "iat");
  const nbf = numericDate(claims, "nbf");
  if (exp === undefined) {
    throw new IdentityError("missing_claim", 'token has no "exp" claim; only expiring tokens are accepted');
  }
  const identity = mapClaims(claims, {
    issuer: cfg.issuer,
    groupsClaim: cfg.groupsClaim,
    tokenFingerprint,
    exp,
  });
  if (nbf !== undefined && nbf > nowMs / 1000 + cfg.clockToleranceSec) {
    throw new IdentityError(
      "token_not_yet_valid",
      `token is not valid before ${iso(nbf)} (now ${iso(nowMs / 1000)})`,
      {
        notBefore: new Date(nbf * 1000),
      },
    );
  }
  checkExpiry(exp, nowMs, cfg.clockToleranceSec);
  return { identity, exp };
}
