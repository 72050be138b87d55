export {
  ApprovalWebhook,
  type ApprovalWebhookOptions,
  type WebhookLogger,
  type WebhookStats,
  webhookText,
} from "./approval-webhook.js";
export {
  APPROVAL_HEADER,
  type ApprovalDeps,
  approvalRefusal,
  defaultTtlFor,
  formatTtl,
} from "./approvals.js";
export { type ApprovalsApiDeps, approvalJson, handleApprovalsApi } from "./approvals-api.js";
export { type AuthOptions, connectAuthorizer, type PassthroughAuth, PROXY_AUTHENTICATE } from "./auth.js";
export { type Authority, formatAuthority, parseConnectTarget } from "./authority.js";
export {
  type CaDescription,
  type CertificateAuthority,
  type CreateCaOptions,
  createCa,
  DEFAULT_CA_VALIDITY_DAYS,
  describeCaCertificate,
  loadCa,
} from "./ca/authority.js";
export { CertificateCache } from "./ca/cache.js";
export {
  CA_CERT_FILE,
  CA_KEY_FILE,
  type CaPaths,
  caPaths,
  ensureCaFiles,
  initCaFiles,
  type LoadedCa,
  readCaFiles,
} from "./ca/files.js";
export { createLeafKey, type LeafKey, mintLeaf } from "./ca/leaf.js";
export { CertificateError } from "./ca/x509.js";
export { type ClientHelloResult, parseClientHello } from "./clienthello.js";
export { ERROR_CODE_HEADER, ERRORS, type ErrorCode, GatewayError } from "./errors.js";
export { Exchange, type Outcome } from "./exchange.js";
export {
  DEFAULT_TIMEOUTS,
  Gateway,
  type GatewayHooks,
  type GatewayOptions,
  type GatewayTimeouts,
} from "./gateway.js";
export {
  DEFAULT_INTERCEPT_HOSTS,
  HostMatcher,
  InvalidHostPatternError,
  parseHostPattern,
  patternsOutsideConstraints,
  withinSubtree,
} from "./hosts.js";
export { createLogger, type Logger } from "./log.js";
export { renderPac } from "./pac.js";
export { buildStages, Pipeline, type StageDeps } from "./pipeline.js";
export { isAuditedPath } from "./routing.js";
export { Session, type SessionMode } from "./session.js";
export type { BodyTransform, Stage, StageResult } from "./stage.js";
