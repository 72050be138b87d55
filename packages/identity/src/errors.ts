/** Every code an {@link IdentityError} can carry. Match on `code`, never on the message. */
export const IDENTITY_ERROR_CODES = [
  "missing_credentials",
  "malformed_credentials",
  "token_expired",
  "token_not_yet_valid",
  "wrong_issuer",
  "wrong_audience",
  "bad_signature",
  "unknown_key",
  "algorithm_not_allowed",
  "malformed_token",
  "missing_claim",
  "idp_unavailable",
  "config_invalid",
] as const;

export type IdentityErrorCode = (typeof IDENTITY_ERROR_CODES)[number];

/** Extra facts a caller may need to write a useful answer (e.g. the 407 body). */
export interface IdentityErrorDetails {
  /** token_expired: when the token expired. */
  expiredAt?: Date;
  /** token_not_yet_valid: when the token becomes valid. */
  notBefore?: Date;
  /** idp_unavailable: seconds until the next attempt to reach the IdP, when known. */
  retryAfterSec?: number;
  /** unknown_key / idp_unavailable after an unknown kid: the kid from the token header. */
  kid?: string;
  /** Underlying error (never contains the token). */
  cause?: unknown;
}

/**
 * The one error type of this package. Messages say precisely what was wrong and never include the token.
 * `code` is stable; `expiredAt`, `notBefore`, `retryAfterSec` and `kid` are set where they apply.
 */
export class IdentityError extends Error {
  override readonly name = "IdentityError";
  readonly code: IdentityErrorCode;
  readonly expiredAt: Date | undefined;
  readonly notBefore: Date | undefined;
  readonly retryAfterSec: number | undefined;
  readonly kid: string | undefined;

  constructor(code: IdentityErrorCode, message: string, details: IdentityErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.expiredAt = details.expiredAt;
    this.notBefore = details.notBefore;
    this.retryAfterSec = details.retryAfterSec;
    this.kid = details.kid;
  }
}

export function isIdentityError(value: unknown): value is IdentityError {
  return value instanceof IdentityError;
}
