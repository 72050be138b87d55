import { type Kysely, sql } from "kysely";
import { QueryInvalidError } from "./errors.js";
import { filterConditions, type ReportFilter, whereClause } from "./reports.js";
import type { Database, JsonObject } from "./schema.js";
import type { AuditExchangesView, AuditFindingsView, AuditSessionsView } from "./views.js";

// Sessions for `copilot-audit sessions list|show`: a filtered list, and one session's transcript (every
// exchange in wire order with headers, masked bodies, findings and timings). Views only.

export interface SessionFilter extends ReportFilter {
  /** Target host (CONNECT target), exact. */
  host?: string | undefined;
  /** Client address, exact. */
  client?: string | undefined;
  mode?: "intercept" | "tunnel" | "refused" | undefined;
  /** Only sessions without a close row (still open, or cut by a crash not yet recovered). */
  open?: boolean | undefined;
  /** Newest first; default 100. */
  limit?: number | undefined;
}

export interface SessionSummary {
  sessionId: string;
  openedAt: Date;
  closedAt: Date | null;
  durationMs: number | null;
  mode: "intercept" | "tunnel" | "refused";
  clientAddress: string;
  clientPort: number;
  targetHost: string;
  targetPort: number;
  sni: string | null;
  refusal: { status: number | null; code: string | null; details: string | null } | null;
  userSubject: string | null;
  userEmail: string | null;
  userGroups: string[];
  bytesFromClient: number | null;
  bytesToClient: number | null;
  closeReason: string | null;
  /** As counted by the gateway at close; null while open. */
  exchangeCount: number | null;
  /** Exchanges present in the log. */
  exchangesRecorded: number;
  findings: number;
}

export interface TranscriptFinding {
  direction: "request" | "response";
  ruleId: string;
  location: string;
  offset: number;
  length: number;
  action: string;
  fingerprint: string;
  recordedAt: Date;
}

export interface TranscriptBody {
  /** The stored (masked, decoded) text; null when binary or empty. */
  text: string | null;
  binary: boolean;
  size: number;
  sha256: string;
  truncated: boolean;
}

export interface TranscriptExchange {
  exchangeId: string;
  seq: number;
  requestedAt: Date;
  respondedAt: Date | null;
  endedAt: Date | null;
  method: string;
  url: string;
  endpointKind: string;
  model: string | null;
  clientRequestId: string | null;
  userSubject: string | null;
  requestHeaders: JsonObject;
  requestBody: TranscriptBody;
  promptText: string | null;
  status: number | null;
  outcome: string | null;
  errorCode: string | null;
  errorDetails: string | null;
  ttfbMs: number | null;
  durationMs: number | null;
  responseHeaders: JsonObject | null;
  responseBody: TranscriptBody | null;
  completionText: string | null;
  findings: TranscriptFinding[];
}

export interface Transcript {
  session: SessionSummary;
  /** In wire order (the order the requests arrived on the connection). */
  exchanges: TranscriptExchange[];
}

const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));

function summary(
  r: AuditSessionsView & { exchanges_recorded?: unknown; findings?: unknown },
): SessionSummary {
  return {
    sessionId: r.session_id,
    openedAt: new Date(r.opened_at),
    closedAt: r.closed_at ? new Date(r.closed_at) : null,
    durationMs: n(r.duration_ms),
    mode: r.mode,
    clientAddress: r.client_address,
    clientPort: r.client_port,
    targetHost: r.target_host,
    targetPort: r.target_port,
    sni: r.sni,
    refusal:
      r.refusal_status === null && r.refusal_code === null
        ? null
        : { status: r.refusal_status, code: r.refusal_code, details: r.refusal_details },
    userSubject: r.user_subject,
    userEmail: r.user_email,
    userGroups: r.user_groups ?? [],
    bytesFromClient: n(r.bytes_from_client),
    bytesToClient: n(r.bytes_to_client),
    closeReason: r.close_reason,
    exchangeCount: r.exchange_count,
    exchangesRecorded: n(r.exchanges_recorded) ?? 0,
    findings: n(r.findings) ?? 0,
  };
}

/** audit_sessions with the exchanges and findings the log holds for each session. */
const SESSIONS = sql`SELECT s.*, c.exchanges_recorded, c.findings FROM audit_sessions s
  LEFT JOIN LATERAL (SELECT count(*)::int AS exchanges_recorded, coalesce(sum(x.findings_count), 0)::int AS findings
                     FROM audit_exchanges x WHERE x.session_id = s.session_id) c ON true`;

/** Sessions matching the filter, newest first. */
export async function listSessions(db: Kysely<Database>, f: SessionFilter = {}): Promise<SessionSummary[]> {
  const conds = filterConditions(f)("opened_at");
  if (f.host) conds.push(sql`target_host = ${f.host}`);
  if (f.client) conds.push(sql`client_address = ${f.client}`);
  if (f.mode) conds.push(sql`mode = ${f.mode}`);
  if (f.open) conds.push(sql`closed_at IS NULL`);
  const limit = Math.max(1, Math.min(100_000, f.limit ?? 100));
  const res = await sql<AuditSessionsView>`${SESSIONS} ${whereClause(conds)}
    ORDER BY opened_at DESC, session_id LIMIT ${limit}`.execute(db);
  return res.rows.map(summary);
}

/**
 * The session an id names: the whole id, or a unique beginning or end of it (at least 4 characters). Ids are
 * time-ordered (UUIDv7), so sessions opened close together share their beginning: tables show the end.
 */
export async function resolveSessionId(db: Kysely<Database>, idOrPrefix: string): Promise<string> {
  const id = idOrPrefix.trim().toLowerCase();
  if (!/^[0-9a-f-]{4,36}$/.test(id))
    throw new QueryInvalidError(
      `session id "${idOrPrefix}": expected a session id, or its first or last characters (at least 4)`,
    );
  const rows =
    id.length === 36
      ? await db.selectFrom("audit_sessions").select("session_id").where("session_id", "=", id).execute()
      : await db
          .selectFrom("audit_sessions")
          .select("session_id")
          .where(sql<boolean>`(session_id::text LIKE ${`${id}%`} OR session_id::text LIKE ${`%${id}`})`)
          .limit(6)
          .execute();
  const ids = [...new Set(rows.map((r) => r.session_id))];
  if (ids.length === 0) throw new QueryInvalidError(`no session ${idOrPrefix}`);
  if (ids.length > 1)
    throw new QueryInvalidError(
      `session id ${idOrPrefix} is ambiguous (${ids.slice(0, 5).join(", ")}${ids.length > 5 ? ", …" : ""}): give more characters`,
    );
  return ids[0] as string;
}

function body(
  text: string | null,
  binary: boolean | null,
  size: unknown,
  sha: string | null,
  truncated: boolean | null,
): TranscriptBody {
  return {
    text,
    binary: binary === true,
    size: Number(size ?? 0),
    sha256: sha ?? "",
    truncated: truncated === true,
  };
}

/** One session's transcript: the session, then each exchange in wire order with its findings. */
export async function sessionTranscript(db: Kysely<Database>, idOrPrefix: string): Promise<Transcript> {
  const id = await resolveSessionId(db, idOrPrefix);
  const s = await sql<AuditSessionsView>`${SESSIONS} WHERE s.session_id = ${id}
    ORDER BY opened_at LIMIT 1`.execute(db);
  const session = summary(s.rows[0] as AuditSessionsView);
  const ex = await db
    .selectFrom("audit_exchanges")
    .selectAll()
    .where("session_id", "=", id)
    .orderBy("session_seq")
    .orderBy("requested_at")
    .orderBy("exchange_id")
    .execute();
  const findings: AuditFindingsView[] =
    ex.length === 0
      ? []
      : await db
          .selectFrom("audit_findings")
          .selectAll()
          .where(
            "exchange_id",
            "in",
            ex.map((e) => e.exchange_id),
          )
          .orderBy("recorded_at")
          .orderBy("direction")
          .orderBy("secret_offset")
          .execute();
  return {
    session,
    exchanges: ex.map((e: AuditExchangesView) => ({
      exchangeId: e.exchange_id,
      seq: e.session_seq,
      requestedAt: new Date(e.requested_at),
      respondedAt: e.responded_at ? new Date(e.responded_at) : null,
      endedAt: e.ended_at ? new Date(e.ended_at) : null,
      method: e.method,
      url: `${e.scheme}://${e.host}${(e.scheme === "https" && e.port === 443) || (e.scheme === "http" && e.port === 80) ? "" : `:${e.port}`}${e.path}`,
      endpointKind: e.endpoint_kind,
      model: e.model,
      clientRequestId: e.client_request_id,
      userSubject: e.user_subject,
      requestHeaders: e.request_headers,
      requestBody: body(
        e.request_body,
        e.request_body_binary,
        e.request_body_size,
        e.request_body_sha256,
        e.request_body_truncated,
      ),
      promptText: e.prompt_text,
      status: e.status,
      outcome: e.outcome,
      errorCode: e.error_code,
      errorDetails: e.error_details,
      ttfbMs: e.ttfb_ms,
      durationMs: e.duration_ms,
      responseHeaders: e.response_headers,
      responseBody:
        e.response_body_sha256 === null
          ? null
          : body(
              e.response_body,
              e.response_body_binary,
              e.response_body_size,
              e.response_body_sha256,
              e.response_body_truncated,
            ),
      completionText: e.completion_text,
      findings: findings
        .filter((f) => f.exchange_id === e.exchange_id)
        .map((f) => ({
          direction: f.direction,
          ruleId: f.rule_id,
          location: f.location,
          offset: f.secret_offset,
          length: f.secret_length,
          action: f.action,
          fingerprint: f.fingerprint,
          recordedAt: new Date(f.recorded_at),
        })),
    })),
  };
}
