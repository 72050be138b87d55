export { githubTokenChecksum, isValidGithubToken } from "./checksum.js";
export type { RedactConfig, RedactConfigKey } from "./config.js";
export { parseRedactConfig, REDACT_CONFIG_KEYS, REDACT_DEFAULTS } from "./config.js";
export type { Detector, DetectorConfig, StepResult, WindowDetection } from "./detector.js";
export { BUILTIN_RULE_IDS, createDetector } from "./detector.js";
export { classifyEndpoint } from "./endpoint.js";
export type { RedactErrorCode } from "./errors.js";
export { REDACT_ERROR_CODES, RedactConfigError, RedactError, RuleConfigError } from "./errors.js";
export { maskFor } from "./mask.js";
export type { RequestBody, RequestRedaction } from "./request.js";
export { redactRequestBody } from "./request.js";
export type { ResponseInput, ResponseRedactor, ResponseRedactorOptions } from "./response.js";
export { createResponseRedactor } from "./response.js";
export type {
  Detection,
  Direction,
  EndpointKind,
  Finding,
  RedactMode,
  RedactOptions,
  RuleConfig,
} from "./types.js";
