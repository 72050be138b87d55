/**
 * The redact section of the gateway config: keys, defaults, help text, and a validator that stops start-up
 * with a message naming the key. Building the detector here surfaces bad custom rules at start, not mid-stream.
 */
import { createDetector, type Detector } from "./detector.js";
import { RedactConfigError, RuleConfigError } from "./errors.js";
import type { RedactMode, RuleConfig } from "./types.js";

export interface RedactConfig {
  requestMode: RedactMode;
  responseMode: RedactMode;
  rules: RuleConfig[];
  disable: string[];
  allowlist: string[];
  maxHoldBytes: number;
  maxBufferBytes: number;
  maxEventBytes: number;
}

export interface RedactConfigKey {
  key: keyof RedactConfig;
  default: RedactConfig[keyof RedactConfig];
  help: string;
}

export const REDACT_DEFAULTS: Readonly<RedactConfig> = Object.freeze({
  requestMode: "mask",
  responseMode: "mask",
  rules: [],
  disable: [],
  allowlist: [],
  maxHoldBytes: 16_384,
  maxBufferBytes: 8 << 20,
  maxEventBytes: 1 << 20,
});

export const REDACT_CONFIG_KEYS: readonly RedactConfigKey[] = [
  {
    key: "requestMode",
    default: "mask",
    help: "Secrets in prompts: off | report | mask | block (block answers 403)",
  },
  {
    key: "responseMode",
    default: "mask",
    help: "Secrets in completions: off | report | mask | block (block stops the stream)",
  },
  {
    key: "rules",
    default: [],
    help: "Custom rules: [{ id, regex, flags?, secretGroup?, keywords?, entropy?, allowlist?, description? }]",
  },
  {
    key: "disable",
    default: [],
    help: "Rule ids to switch off (a custom rule with the same id replaces the built-in one)",
  },
  {
    key: "allowlist",
    default: [],
    help: "Regexes tested against every detected secret; a match is not a finding",
  },
  {
    key: "maxHoldBytes",
    default: 16_384,
    help: "Most characters a stream may hold back while deciding a possible secret",
  },
  {
    key: "maxBufferBytes",
    default: 8 << 20,
    help: "Largest non-stream response redacted as JSON; beyond it, as plain text",
  },
  {
    key: "maxEventBytes",
    default: 1 << 20,
    help: "Largest SSE event; beyond it the rest of the stream is redacted as plain text",
  },
];

const MODES: readonly RedactMode[] = ["off", "report", "mask", "block"];

function stringList(value: unknown, key: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
    throw new RedactConfigError(key, "expected a list of strings");
  }
  return value as string[];
}

/**
 * Validate the `redact` section (`prefix` names it in errors) and build its detector. Unknown keys are refused.
 * Throws RedactConfigError (`invalid_config`) or RuleConfigError (`invalid_rule`, `duplicate_rule`, …).
 */
export function parseRedactConfig(
  input: unknown,
  prefix = "redact",
): { config: RedactConfig; detector: Detector } {
  const raw = input ?? {};
  if (typeof raw !== "object" || Array.isArray(raw))
    throw new RedactConfigError(prefix, "expected an object");
  const src = raw as Record<string, unknown>;
  const known = new Set<string>(REDACT_CONFIG_KEYS.map((k) => k.key));
  for (const k of Object.keys(src)) {
    if (!known.has(k))
      throw new RedactConfigError(`${prefix}.${k}`, `unknown key (expected one of ${[...known].join(", ")})`);
  }
  const config: RedactConfig = { ...REDACT_DEFAULTS, rules: [], disable: [], allowlist: [] };
  for (const k of ["requestMode", "responseMode"] as const) {
    const v = src[k];
    if (v === undefined) continue;
    if (typeof v !== "string" || !MODES.includes(v as RedactMode)) {
      throw new RedactConfigError(`${prefix}.${k}`, `expected one of ${MODES.join(", ")}`);
    }
    config[k] = v as RedactMode;
  }
  for (const k of ["maxHoldBytes", "maxBufferBytes", "maxEventBytes"] as const) {
    const v = src[k];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0)
      throw new RedactConfigError(`${prefix}.${k}`, "expected a positive integer");
    config[k] = v;
  }
  if (src.disable !== undefined) config.disable = stringList(src.disable, `${prefix}.disable`);
  if (src.allowlist !== undefined) config.allowlist = stringList(src.allowlist, `${prefix}.allowlist`);
  if (src.rules !== undefined) {
    if (!Array.isArray(src.rules)) throw new RedactConfigError(`${prefix}.rules`, "expected a list of rules");
    config.rules = src.rules.map((r, i) => {
      if (typeof r !== "object" || r === null || Array.isArray(r)) {
        throw new RedactConfigError(`${prefix}.rules[${i}]`, "expected an object with at least id and regex");
      }
      return r as RuleConfig;
    });
  }
  try {
    const detector = createDetector({
      rules: config.rules,
      disable: config.disable,
      allowlist: config.allowlist,
    });
    return { config, detector };
  } catch (err) {
    if (err instanceof RuleConfigError) {
      throw new RuleConfigError(
        err.code as "invalid_rule" | "duplicate_rule" | "unknown_rule" | "invalid_allowlist",
        err.ruleId,
        `${prefix}: ${err.message}`,
      );
    }
    throw err;
  }
}
