import { type CapturedBody, decodeText } from "./body.js";
import { sha256Hex } from "./canonical.js";
import type { Fingerprinter } from "./fingerprint.js";
import type { JsonObject, JsonValue } from "./schema.js";

// Central removal of secrets from what the writer stores. Record types take RAW headers and bodies and the
// writer always passes them through here, so no caller can forget it.

/** Headers whose values are always stored as fingerprints. */
export const DEFAULT_SENSITIVE_HEADERS: readonly string[] = [
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
];

/** JSON fields of a token-exchange response body that are replaced by their fingerprints. */
export const TOKEN_BODY_FIELDS: readonly string[] = ["token", "access_token", "refresh_token", "id_token"];

/** Raw HTTP headers as Node gives them (`IncomingHttpHeaders`/`OutgoingHttpHeaders`) or as name/value pairs. */
export type RawHeaders =
  | Readonly<Record<string, string | readonly string[] | number | undefined>>
  | ReadonlyArray<readonly [string, string]>;

const AUTH_SCHEME = /^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*) +(\S[\s\S]*)$/;

function protectValue(name: string, value: string, fp: Fingerprinter): string {
  if (name.endsWith("authorization")) {
    const m = AUTH_SCHEME.exec(value);
    if (m) return `${m[1]} ${fp(m[2] as string)}`;
  }
  return fp(value);
}

/**
 * Lower-cases header names and replaces the values of sensitive headers by fingerprints (for
 * `Authorization: Bearer x` the scheme stays readable: `Bearer hmac-sha256:…`). Repeated headers become arrays.
 */
export function sanitizeHeaders(
  raw: RawHeaders,
  sensitive: ReadonlySet<string>,
  fp: Fingerprinter,
): JsonObject {
  const out: Record<string, string | string[]> = {};
  const add = (rawName: string, value: string) => {
    const name = rawName.toLowerCase();
    const v = sensitive.has(name) ? protectValue(name, value, fp) : value;
    const prev = out[name];
    if (prev === undefined) out[name] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else out[name] = [prev, v];
  };
  if (Array.isArray(raw)) {
    for (const [k, v] of raw as ReadonlyArray<readonly [string, string]>) add(k, String(v));
  } else {
    for (const [k, v] of Object.entries(
      raw as Record<string, string | readonly string[] | number | undefined>,
    )) {
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const x of v) add(k, String(x));
      else add(k, String(v));
    }
  }
  return out;
}

/** The first value of a header in raw headers, case-insensitively. */
export function headerValue(raw: RawHeaders, name: string): string | undefined {
  const want = name.toLowerCase();
  if (Array.isArray(raw)) {
    for (const [k, v] of raw as ReadonlyArray<readonly [string, string]>)
      if (k.toLowerCase() === want) return v;
    return undefined;
  }
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (k.toLowerCase() !== want || v === undefined) continue;
    return Array.isArray(v) ? (v[0] === undefined ? undefined : String(v[0])) : String(v);
  }
  return undefined;
}

/**
 * For a token-exchange body: replaces the token fields by fingerprints. Returns the body to store; a body
 * that is not a complete JSON object is withheld (stored empty, truncated, with its size and sha256), since
 * it may hold a raw token. The sha256 of a sanitised body is that of the stored (sanitised) text.
 */
export function sanitizeTokenBody(body: CapturedBody, fp: Fingerprinter): CapturedBody {
  if (body.size === 0) return body;
  const text = body.truncated ? null : decodeText(body.stored, false);
  let parsed: JsonValue | undefined;
  try {
    parsed = text === null ? undefined : (JSON.parse(text) as JsonValue);
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    return { stored: new Uint8Array(0), size: body.size, sha256: body.sha256, truncated: true };
  }
  const obj = parsed as JsonObject;
  for (const field of TOKEN_BODY_FIELDS) {
    const v = obj[field];
    if (typeof v === "string") obj[field] = fp(v);
  }
  const stored = Buffer.from(JSON.stringify(obj), "utf8");
  return { stored, size: body.size, sha256: sha256Hex(stored), truncated: false };
}
