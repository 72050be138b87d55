/**
 * Request side: the whole body is in memory before it is forwarded. Secrets are masked in place (JSON strings
 * rewritten, everything else byte for byte), or reported, or the request is blocked.
 */
import { createDetector, type Detector } from "./detector.js";
import { type DocumentSecret, redactDocument } from "./document.js";
import type { EndpointKind, Finding, RedactMode, RedactOptions } from "./types.js";

export interface RequestBody {
  kind: EndpointKind;
  contentType: string | undefined;
  /** Identity-encoded body (the gateway decodes gzip/deflate/br first). */
  body: Uint8Array;
}

export interface RequestRedaction {
  /** What to forward: masked in mode "mask", else the original. Fix Content-Length when `changed`. */
  body: Uint8Array;
  changed: boolean;
  findings: Finding[];
  /** Mode "block" and a secret was found: answer 403 naming this rule and place (never the secret). */
  blocked?: { ruleId: string; location: string };
  /** The body to store in the audit record: masked whenever something was found, whatever the mode. */
  recordBody: Uint8Array;
  /** Why the body was not scanned ("binary": not UTF-8 text). */
  skipped?: "binary";
}

let defaultDetector: Detector | undefined;

/** The detector with the built-in rules, built once. */
export function builtinDetector(): Detector {
  defaultDetector ??= createDetector();
  return defaultDetector;
}

export function actionFor(mode: RedactMode): Finding["action"] {
  return mode === "block" ? "blocked" : mode === "report" ? "reported" : "masked";
}

export function toFindings(
  secrets: readonly DocumentSecret[],
  direction: Finding["direction"],
  mode: RedactMode,
  fingerprint: (secret: string) => string,
): Finding[] {
  const action = actionFor(mode);
  return secrets.map((s) => ({
    direction,
    ruleId: s.ruleId,
    description: s.description,
    location: s.location,
    offset: s.offset,
    length: s.length,
    fingerprint: fingerprint(s.secret),
    action,
  }));
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

export function redactRequestBody(input: RequestBody, opts: RedactOptions): RequestRedaction {
  const mode = opts.mode ?? "mask";
  const unchanged: RequestRedaction = {
    body: input.body,
    changed: false,
    findings: [],
    recordBody: input.body,
  };
  if (mode === "off" || input.body.length === 0) return unchanged;
  let text: string;
  try {
    text = utf8.decode(input.body);
  } catch {
    return { ...unchanged, skipped: "binary" };
  }
  const detector = opts.detector ?? builtinDetector();
  const doc = redactDocument(text, input.contentType, detector);
  if (doc.secrets.length === 0) return unchanged;
  const findings = toFindings(doc.secrets, "request", mode, opts.fingerprint);
  const masked = encoder.encode(doc.text);
  if (mode === "mask") return { body: masked, changed: true, findings, recordBody: masked };
  const first = findings[0]!;
  if (mode === "block") {
    return {
      ...unchanged,
      findings,
      recordBody: masked,
      blocked: { ruleId: first.ruleId, location: first.location },
    };
  }
  return { ...unchanged, findings, recordBody: masked };
}
