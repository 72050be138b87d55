export { Gateway, type GatewayOptions, type GatewayHooks, type GatewayTimeouts, DEFAULT_TIMEOUTS } from "./gateway.js";
export { type CertificateAuthority, type CreateCaOptions, createCa, loadCa, DEFAULT_CA_VALIDITY_DAYS } from "./ca/authority.js";
export { CertificateCache } from "./ca/cache.js";
export { createLeafKey, mintLeaf, type LeafKey } from "./ca/leaf.js";
export { CertificateError } from "./ca/x509.js";
export { caPaths, ensureCaFiles, initCaFiles, readCaFiles, type CaPaths, type LoadedCa, CA_CERT_FILE, CA_KEY_FILE } from "./ca/files.js";
export {
  DEFAULT_INTERCEPT_HOSTS,
  HostMatcher,
  parseHostPattern,
  patternsOutsideConstraints,
  withinSubtree,
  InvalidHostPatternError,
} from "./hosts.js";
export { parseConnectTarget, formatAuthority, type Authority } from "./authority.js";
export { parseClientHello, type ClientHelloResult } from "./clienthello.js";
export { ERRORS, GatewayError, type ErrorCode, ERROR_CODE_HEADER } from "./errors.js";
export { renderPac } from "./pac.js";
export { createLogger, type Logger } from "./log.js";
export { Exchange, type Outcome } from "./exchange.js";
export { Session, type SessionMode } from "./session.js";
export type { Stage, StageResult, BodyTransform } from "./stage.js";
export { buildStages, Pipeline, type StageDeps } from "./pipeline.js";
export { isAuditedPath } from "./routing.js";
