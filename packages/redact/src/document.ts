/**
 * Redacting a whole body that is held in memory: a request body, or a response that is not a stream.
 * JSON: every string value is scanned (a string that itself holds JSON, such as tool-call `arguments`, is
 * parsed and walked too) and rewritten in place. NDJSON: line by line. Anything else: scanned as text.
 */
import type { Detector } from "./detector.js";
import { type PathSegment, rewriteJsonStrings } from "./json-strings.js";
import { applyMasks } from "./mask.js";
import type { Detection } from "./types.js";

/** A secret found in a document: offsets are within the string named by `location`. */
export interface DocumentSecret {
  ruleId: string;
  description: string;
  location: string;
  offset: number;
  length: number;
  secret: string;
}

export interface DocumentResult {
  /** The masked text (equal to the input when nothing was found). */
  text: string;
  secrets: DocumentSecret[];
  format: "json" | "ndjson" | "text";
}

/** Called with each string value after masking (for collecting the completion text of a response). */
export type StringObserver = (segments: PathSegment[], masked: string) => void;

/** Strings that hold JSON are parsed and walked this many levels deep at most. */
const MAX_NESTED_JSON = 4;
const MAX_NESTED_JSON_LENGTH = 1 << 20;

function looksLikeJsonContainer(value: string): boolean {
  const t = value.trim();
  if (t.length < 2 || t.length > MAX_NESTED_JSON_LENGTH) return false;
  const a = t[0];
  const b = t[t.length - 1];
  return (a === "{" && b === "}") || (a === "[" && b === "]");
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Object keys up to this length are scanned together with their value (`password: <value>`). */
const MAX_KEY_CONTEXT = 64;

/**
 * Mask one string; `location` names it in the findings. `key`: the object key that holds it, scanned in front
 * of the value as `key: value` so that rules that need a name before the secret (generic-secret,
 * aws-secret-access-key) see it. Spans are mapped back into the value; keys are never masked.
 */
export function maskString(
  value: string,
  location: string,
  detector: Detector,
  out: DocumentSecret[],
  depth = 0,
  key?: string | number,
): string {
  if (depth < MAX_NESTED_JSON && looksLikeJsonContainer(value) && parses(value)) {
    const inner = rewriteJsonStrings(value, (v) =>
      maskString(v.value, `${location}->${v.path()}`, detector, out, depth + 1, v.key),
    );
    return inner ?? value;
  }
  let detections: Detection[];
  if (typeof key === "string" && key.length <= MAX_KEY_CONTEXT) {
    const shift = key.length + 2;
    detections = detector
      .scan(`${key}: ${value}`)
      .filter((d) => d.end > shift)
      .map((d) => ({ ...d, start: Math.max(d.start, shift) - shift, end: d.end - shift }));
  } else detections = detector.scan(value);
  if (detections.length === 0) return value;
  for (const d of detections) {
    out.push({
      ruleId: d.ruleId,
      description: d.description,
      location,
      offset: d.start,
      length: d.end - d.start,
      secret: value.slice(d.start, d.end),
    });
  }
  return applyMasks(value, detections);
}

function maskJson(
  text: string,
  prefix: string,
  detector: Detector,
  secrets: DocumentSecret[],
  observe?: StringObserver,
): string {
  const rewritten = rewriteJsonStrings(text, (v) => {
    const path = v.path();
    const masked = maskString(
      v.value,
      prefix === "" ? path : `${prefix}${path}`,
      detector,
      secrets,
      0,
      v.key,
    );
    observe?.(v.segments(), masked);
    return masked;
  });
  return rewritten ?? text;
}

function isJsonType(contentType: string | undefined): boolean {
  return (
    contentType !== undefined && /json/i.test(contentType) && !/ndjson|json-seq|jsonl/i.test(contentType)
  );
}

export function redactDocument(
  text: string,
  contentType: string | undefined,
  detector: Detector,
  observe?: StringObserver,
): DocumentResult {
  const secrets: DocumentSecret[] = [];
  const first = text.trimStart()[0];
  if ((isJsonType(contentType) || first === "{" || first === "[" || first === '"') && parses(text)) {
    return { text: maskJson(text, "", detector, secrets, observe), secrets, format: "json" };
  }
  if (/ndjson|json-seq|jsonl/i.test(contentType ?? "") || (first === "{" && text.includes("\n"))) {
    const lines = text.split("\n");
    if (lines.every((l) => l.trim() === "" || parses(l))) {
      const masked = lines.map((l, i) =>
        l.trim() === "" ? l : maskJson(l, `line[${i}]`, detector, secrets),
      );
      return { text: masked.join("\n"), secrets, format: "ndjson" };
    }
  }
  return { text: maskString(text, "text", detector, secrets, MAX_NESTED_JSON), secrets, format: "text" };
}
