import type { Detector } from "./detector.js";

/** Which way the bytes travel: request = developer → model, response = model → developer. */
export type Direction = "request" | "response";

/**
 * What to do with a detected secret:
 * - `off`: no detection at all;
 * - `report`: detect and return findings, forward the bytes unchanged;
 * - `mask`: replace each secret with `[REDACTED:<rule-id>]`;
 * - `block`: refuse (request: the gateway answers 403; response: the stream is stopped with an error event).
 */
export type RedactMode = "off" | "report" | "mask" | "block";

/** The Copilot endpoint an exchange belongs to (see copilot-wire.md). */
export type EndpointKind =
  | "completions"
  | "chat"
  | "responses"
  | "messages"
  | "embeddings"
  | "snippy"
  | "token"
  | "telemetry"
  | "models"
  | "agents"
  | "mcp"
  | "other";

/** One detected secret, as recorded with the exchange. Never holds the secret itself. */
export interface Finding {
  direction: Direction;
  ruleId: string;
  description: string;
  /**
   * Where the secret was: a JSON path (`$.messages[1].content`, `$.prompt`), a path into a JSON string that holds
   * JSON (`$.messages[2].tool_calls[0].function.arguments->$.password`), a stream channel (`choices[0]`,
   * `content[1]`, `output[0].content[0]`), `event[<n>].<path>` for other strings of an SSE event, or `text`.
   */
  location: string;
  /** Start of the secret within the original (unmasked) string of `location`, in UTF-16 code units. */
  offset: number;
  /** Length of the secret in UTF-16 code units. */
  length: number;
  /** The caller's fingerprint of the secret (e.g. HMAC-SHA256 with the deployment key). */
  fingerprint: string;
  action: "masked" | "reported" | "blocked";
}

/** A custom rule, as written in the config file. */
export interface RuleConfig {
  /** Stable id, `[a-z0-9][a-z0-9-]*` (max 64). Appears in masks: `[REDACTED:<id>]`. */
  id: string;
  description?: string;
  /** JavaScript regular expression source. A leading `(?i)` (gitleaks style) is accepted and becomes the `i` flag. */
  regex: string;
  /** Any of `i`, `m`, `s`, `u`. */
  flags?: string;
  /** Capturing group that holds the secret; 0 = the whole match. Default: 1 if the regex has a group, else 0. */
  secretGroup?: number;
  /**
   * Prefilter keywords (case-insensitive). The rule's regex runs only when one appears. Default: the literal
   * prefixes every match starts with, derived from the regex; a rule without either always runs.
   */
  keywords?: string[];
  /** Minimum Shannon entropy (bits per character) of the secret; a candidate at or below it is dropped. */
  entropy?: number;
  /** Regexes tested against the secret; a match drops the candidate (documentation examples, test keys). */
  allowlist?: string[];
}

/** A detected secret in a string: `[start, end)` in UTF-16 code units. */
export interface Detection {
  ruleId: string;
  description: string;
  start: number;
  end: number;
}

/** Options shared by the request and response side. */
export interface RedactOptions {
  /** Fingerprint of a secret (HMAC with the deployment key, computed by the store). Called once per finding. */
  fingerprint: (secret: string) => string;
  /** Default: createDetector() with the built-in rules. Build it once and share it: it is immutable. */
  detector?: Detector;
  /** Default "mask". */
  mode?: RedactMode;
}
