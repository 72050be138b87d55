import { createHash } from "node:crypto";
import { type Kysely, sql } from "kysely";
import { QueryInvalidError } from "./errors.js";
import { filterConditions, type ReportFilter, whereClause } from "./reports.js";
import type { Database, JsonObject, JsonValue } from "./schema.js";

// "Was this key ever exposed?" The auditor hands over the secret; it is fingerprinted with the deployment key
// (the same HMAC the gateway stored) and searched for everywhere the gateway keeps fingerprints:
//   * findings: a secret detected in a prompt or completion (masked, blocked, or reported = passed in clear);
//   * sensitive headers (Authorization, Cookie, …) of requests and responses, which are forwarded as they are
//     and stored as fingerprints;
//   * token fields of token-exchange response bodies (delivered to the client, stored as fingerprints);
//   * the proxy credential (the OIDC token a session authenticated with; consumed by the gateway).
// The secret itself is never stored, logged or returned.

export type ExposureSource = "finding" | "header" | "token-response" | "proxy-credential";

export interface ExposureHit {
  /** 1-based position of the secret in the input list. */
  secret: number;
  fingerprint: string;
  seenAt: Date;
  direction: "request" | "response";
  source: ExposureSource;
  /** JSON path of a finding, header name, token field, or `proxy-authorization`. */
  location: string;
  /** True when it did not pass the gateway in clear (masked, blocked, or consumed by the gateway). */
  masked: boolean;
  /** masked | blocked | reported | forwarded | delivered | consumed. */
  action: string;
  ruleId: string | null;
  userSubject: string | null;
  userEmail: string | null;
  host: string | null;
  path: string | null;
  endpointKind: string | null;
  clientAddress: string | null;
  exchangeId: string | null;
  sessionId: string | null;
}

export interface ExposureResult {
  /** The fingerprint of each input secret (hmac-sha256:…), in input order. */
  fingerprints: string[];
  hits: ExposureHit[];
}

/**
 * Searches for each secret's fingerprint. `fingerprint` must be the deployment's (`store.fingerprint`).
 * `f.since`/`f.until` bound the search (default: everything); `f.user` is ignored.
 */
export async function exposureReport(
  db: Kysely<Database>,
  fingerprint: (secret: string) => string,
  secrets: readonly string[],
  f: ReportFilter = {},
): Promise<ExposureResult> {
  if (secrets.length === 0 || secrets.some((s) => s.length === 0))
    throw new QueryInvalidError("exposure: no secret given");
  const range: ReportFilter = { since: f.since, until: f.until };
  // Each secret, and for "Bearer x"/"token x" also x (Authorization headers are fingerprinted without scheme).
  const wanted = new Map<string, number>();
  const fingerprints = secrets.map((s, i) => {
    const fp = fingerprint(s);
    wanted.set(fp, i + 1);
    const m = /^[A-Za-z][\w.~+-]* +(\S+)$/.exec(s);
    if (m) wanted.set(fingerprint(m[1] as string), i + 1);
    return fp;
  });
  // Identity stores the proxy token as plain sha256 when no key is configured: search that form too.
  const tokenForms = new Map(wanted);
  secrets.forEach((s, i) => {
    tokenForms.set(`sha256:${createHash("sha256").update(s, "utf8").digest("hex")}`, i + 1);
  });
  const fps = [...wanted.keys()];
  const hits: ExposureHit[] = [];

  const findings = await sql<{
    recorded_at: Date;
    direction: "request" | "response";
    location: string;
    fingerprint: string;
    action: string;
    rule_id: string;
    user_subject: string | null;
    user_email: string | null;
    host: string | null;
    path: string | null;
    endpoint_kind: string | null;
    exchange_id: string;
    session_id: string | null;
  }>`SELECT recorded_at, direction, location, fingerprint, action, rule_id, user_subject, user_email, host, path,
            endpoint_kind, exchange_id, session_id
     FROM audit_findings
     ${whereClause([sql`fingerprint IN (${sql.join(fps)})`, ...filterConditions(range, false)("recorded_at")])}`.execute(
    db,
  );
  for (const r of findings.rows) {
    hits.push({
      secret: wanted.get(r.fingerprint) ?? 0,
      fingerprint: r.fingerprint,
      seenAt: new Date(r.recorded_at),
      direction: r.direction,
      source: "finding",
      location: r.location,
      masked: r.action !== "reported",
      action: r.action,
      ruleId: r.rule_id,
      userSubject: r.user_subject,
      userEmail: r.user_email,
      host: r.host,
      path: r.path,
      endpointKind: r.endpoint_kind,
      clientAddress: null,
      exchangeId: r.exchange_id,
      sessionId: r.session_id,
    });
  }

  const patterns = fps.map((fp) => `%${fp}%`);
  const anyOf = (expr: ReturnType<typeof sql>) =>
    sql`${expr} LIKE ANY (ARRAY[${sql.join(patterns)}]::text[])`;
  const exchanges = await sql<{
    exchange_id: string;
    session_id: string | null;
    requested_at: Date;
    ended_at: Date | null;
    user_subject: string | null;
    user_email: string | null;
    host: string;
    path: string;
    endpoint_kind: string;
    client_address: string | null;
    request_headers: JsonObject;
    response_headers: JsonObject | null;
    response_body: string | null;
  }>`SELECT exchange_id, session_id, requested_at, ended_at, user_subject, user_email, host, path, endpoint_kind,
            client_address, request_headers, response_headers,
            CASE WHEN endpoint_kind = 'token' THEN response_body END AS response_body
     FROM audit_exchanges
     ${whereClause([
       sql`(${anyOf(sql`request_headers::text`)} OR ${anyOf(sql`response_headers::text`)}
            OR (endpoint_kind = 'token' AND ${anyOf(sql`response_body`)}))`,
       ...filterConditions(range, false)("requested_at"),
     ])}`.execute(db);
  for (const r of exchanges.rows) {
    const base = {
      userSubject: r.user_subject,
      userEmail: r.user_email,
      host: r.host,
      path: r.path,
      endpointKind: r.endpoint_kind,
      clientAddress: r.client_address,
      exchangeId: r.exchange_id,
      sessionId: r.session_id,
      ruleId: null,
    };
    for (const [name, fp] of headerHits(r.request_headers, wanted))
      hits.push({
        ...base,
        secret: wanted.get(fp) ?? 0,
        fingerprint: fp,
        seenAt: new Date(r.requested_at),
        direction: "request",
        source: "header",
        location: name,
        masked: false,
        action: "forwarded",
      });
    for (const [name, fp] of headerHits(r.response_headers, wanted))
      hits.push({
        ...base,
        secret: wanted.get(fp) ?? 0,
        fingerprint: fp,
        seenAt: new Date(r.ended_at ?? r.requested_at),
        direction: "response",
        source: "header",
        location: name,
        masked: false,
        action: "delivered",
      });
    for (const [field, fp] of bodyHits(r.response_body, wanted))
      hits.push({
        ...base,
        secret: wanted.get(fp) ?? 0,
        fingerprint: fp,
        seenAt: new Date(r.ended_at ?? r.requested_at),
        direction: "response",
        source: "token-response",
        location: field,
        masked: false,
        action: "delivered",
      });
  }

  const sessions = await sql<{
    session_id: string;
    opened_at: Date;
    user_subject: string | null;
    user_email: string | null;
    target_host: string;
    client_address: string;
    user_token_fingerprint: string;
  }>`SELECT session_id, opened_at, user_subject, user_email, target_host, client_address, user_token_fingerprint
     FROM audit_sessions
     ${whereClause([
       sql`user_token_fingerprint IN (${sql.join([...tokenForms.keys()])})`,
       ...filterConditions(range, false)("opened_at"),
     ])}`.execute(db);
  for (const r of sessions.rows) {
    hits.push({
      secret: tokenForms.get(r.user_token_fingerprint) ?? 0,
      fingerprint: r.user_token_fingerprint,
      seenAt: new Date(r.opened_at),
      direction: "request",
      source: "proxy-credential",
      location: "proxy-authorization",
      masked: true,
      action: "consumed",
      ruleId: null,
      userSubject: r.user_subject,
      userEmail: r.user_email,
      host: r.target_host,
      path: null,
      endpointKind: null,
      clientAddress: r.client_address,
      exchangeId: null,
      sessionId: r.session_id,
    });
  }
  hits.sort((a, b) => a.seenAt.getTime() - b.seenAt.getTime() || a.secret - b.secret);
  return { fingerprints, hits };
}

/** Header names whose value holds one of the fingerprints. */
function headerHits(headers: JsonObject | null, wanted: Map<string, number>): Array<[string, string]> {
  if (!headers) return [];
  const out: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(headers))
    for (const v of Array.isArray(value) ? value : [value])
      for (const fp of fingerprintsIn(v, wanted)) out.push([name, fp]);
  return out;
}

/** Top-level JSON fields of a token response whose value is one of the fingerprints. */
function bodyHits(body: string | null, wanted: Map<string, number>): Array<[string, string]> {
  if (!body) return [];
  let parsed: JsonValue;
  try {
    parsed = JSON.parse(body) as JsonValue;
  } catch {
    return [];
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return [];
  const out: Array<[string, string]> = [];
  for (const [field, v] of Object.entries(parsed))
    for (const fp of fingerprintsIn(v, wanted)) out.push([`$.${field}`, fp]);
  return out;
}

function fingerprintsIn(v: JsonValue | undefined, wanted: Map<string, number>): string[] {
  if (typeof v !== "string") return [];
  return [...wanted.keys()].filter((fp) => v.includes(fp));
}
