/**
 * Errors of the redact package. Match on `code`, never on the message: codes are stable, messages are not.
 * Messages never contain a secret; they name a config key, a rule id or an option.
 */
export const REDACT_ERROR_CODES = {
  invalid_rule: "A rule definition is invalid (id, regex, flags, secretGroup, entropy or allowlist)",
  duplicate_rule: "Two rules share one id",
  unknown_rule: "`disable` names a rule id that does not exist",
  invalid_allowlist: "An allowlist entry is not a valid regular expression",
  invalid_config: "A redact config value has the wrong type or is out of range",
  redactor_closed: "push() or end() was called on a response redactor that has already ended",
} as const;

export type RedactErrorCode = keyof typeof REDACT_ERROR_CODES;

/** Base class: every error thrown by this package is a RedactError with a stable `code`. */
export class RedactError extends Error {
  readonly code: RedactErrorCode;
  constructor(code: RedactErrorCode, message: string) {
    super(message);
    this.name = "RedactError";
    this.code = code;
  }
}

/** A rule (built-in or from the config file) cannot be compiled. `ruleId` names it. */
export class RuleConfigError extends RedactError {
  readonly ruleId: string;
  constructor(
    code: "invalid_rule" | "duplicate_rule" | "unknown_rule" | "invalid_allowlist",
    ruleId: string,
    message: string,
  ) {
    super(code, message);
    this.name = "RuleConfigError";
    this.ruleId = ruleId;
  }
}

/** A config value is wrong. `key` is the dotted config key (e.g. `redact.responseMode`). */
export class RedactConfigError extends RedactError {
  readonly key: string;
  constructor(key: string, message: string) {
    super("invalid_config", `${key}: ${message}`);
    this.name = "RedactConfigError";
    this.key = key;
  }
}
