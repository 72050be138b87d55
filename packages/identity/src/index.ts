// @copilot-audit/identity: OIDC verification, claim mapping, access policy and the embedded dev issuer.
export {
  type Authenticator,
  type AuthenticatorStatus,
  createAuthenticator,
  type EmbeddedAuthenticatorOptions,
} from "./authenticator.js";
export { type Identity, readClaimPath } from "./claims.js";
export { parseProxyAuthorization } from "./credentials.js";
export { discoveryUrl } from "./discovery.js";
export { parseDuration } from "./duration.js";
export {
  DEFAULT_TOKEN_TTL_SECONDS,
  EMBEDDED_AUDIENCE,
  type EmbeddedIssuer,
  type MintClaims,
  openEmbeddedIssuer,
} from "./embedded.js";
export {
  IDENTITY_ERROR_CODES,
  IdentityError,
  type IdentityErrorCode,
  type IdentityErrorDetails,
  isIdentityError,
} from "./errors.js";
export {
  DEFAULT_ALGORITHMS,
  DEFAULT_GROUPS_CLAIM,
  type OidcOptions,
  SUPPORTED_ALGORITHMS,
} from "./options.js";
export { type AccessDecision, type AccessPolicy, evaluateAccess, isApprover } from "./policy.js";
