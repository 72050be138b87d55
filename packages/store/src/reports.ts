import { type Expression, type Kysely, type SqlBool, sql } from "kysely";
import type { Database } from "./schema.js";

// Report queries for `copilot-audit report`. They read the auditor views only (migrations/0002_auditor.sql),
// so they work for a login that has nothing but copilot_audit_reader. Times are bounded half-open:
// since <= t < until.

export interface ReportFilter {
  since?: Date | undefined;
  until?: Date | undefined;
  /** A user's subject, or their email (case-insensitive). */
  user?: string | undefined;
}

/** One user's activity on one UTC day (the audit_daily_activity view with exact time bounds). */
export interface ActivityRow {
  day: string;
  userSubject: string | null;
  userEmail: string | null;
  exchanges: number;
  sessions: number;
  completions: number;
  chats: number;
  refused: number;
  failed: number;
  findings: number;
  findingsExposed: number;
  requestBytes: number;
  responseBytes: number;
  models: string[];
  firstRequestAt: Date;
  lastRequestAt: Date;
}

/** One user over the whole period. */
export interface UserRow {
  userSubject: string | null;
  userEmail: string | null;
  userIssuer: string | null;
  groups: string[];
  firstRequestAt: Date;
  lastRequestAt: Date;
  activeDays: number;
  exchanges: number;
  sessions: number;
  completions: number;
  chats: number;
  refused: number;
  failed: number;
  findings: number;
  findingsExposed: number;
  requestBytes: number;
  models: string[];
  clientAddresses: string[];
}

/** One secret found in a request or a response. */
export interface SecretRow {
  recordedAt: Date;
  userSubject: string | null;
  userEmail: string | null;
  direction: "request" | "response";
  ruleId: string;
  action: string;
  /** True when the secret went through in clear (report mode), not masked or blocked. */
  exposed: boolean;
  host: string | null;
  endpointKind: string | null;
  model: string | null;
  location: string;
  fingerprint: string;
  exchangeId: string;
  sessionId: string | null;
}

type Where = (column: string) => Expression<SqlBool>[];

/** Time-range and user conditions on a view's columns. */
export function filterConditions(f: ReportFilter, userColumns = true): Where {
  return (timeColumn) => {
    const conds: Expression<SqlBool>[] = [];
    if (f.since) conds.push(sql<SqlBool>`${sql.ref(timeColumn)} >= ${f.since}`);
    if (f.until) conds.push(sql<SqlBool>`${sql.ref(timeColumn)} < ${f.until}`);
    if (f.user && userColumns)
      conds.push(sql<SqlBool>`(user_subject = ${f.user} OR lower(user_email) = ${f.user.toLowerCase()})`);
    return conds;
  };
}

export function whereClause(conds: Expression<SqlBool>[]) {
  return conds.length === 0 ? sql`` : sql`WHERE ${sql.join(conds, sql` AND `)}`;
}

const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));
const date = (v: unknown) => (v instanceof Date ? v : new Date(String(v)));

/** The counters shared by the activity and users reports, over audit_exchanges. */
const COUNTERS = sql`count(*)::int AS exchanges,
  count(DISTINCT session_id)::int AS sessions,
  count(*) FILTER (WHERE endpoint_kind = 'completions')::int AS completions,
  count(*) FILTER (WHERE endpoint_kind IN ('chat', 'responses', 'messages'))::int AS chats,
  count(*) FILTER (WHERE outcome = 'refused')::int AS refused,
  count(*) FILTER (WHERE outcome IS NULL OR outcome IN ('aborted', 'upstream_error', 'incomplete')
                      OR (outcome = 'completed' AND status >= 400))::int AS failed,
  coalesce(sum(request_body_size), 0)::text AS request_bytes,
  coalesce(sum(response_body_size), 0)::text AS response_bytes,
  coalesce(array_agg(DISTINCT model) FILTER (WHERE model IS NOT NULL), '{}') AS models,
  min(requested_at) AS first_request_at,
  max(requested_at) AS last_request_at`;

interface CounterRow {
  exchanges: number;
  sessions: number;
  completions: number;
  chats: number;
  refused: number;
  failed: number;
  request_bytes: string;
  response_bytes: string;
  models: string[];
  first_request_at: Date;
  last_request_at: Date;
}

function counters(r: CounterRow) {
  return {
    exchanges: num(r.exchanges),
    sessions: num(r.sessions),
    completions: num(r.completions),
    chats: num(r.chats),
    refused: num(r.refused),
    failed: num(r.failed),
    requestBytes: num(r.request_bytes),
    models: [...(r.models ?? [])].sort(),
    firstRequestAt: date(r.first_request_at),
    lastRequestAt: date(r.last_request_at),
  };
}

const key = (...parts: Array<string | null>) => JSON.stringify(parts);

/**
 * Secrets found in the exchanges requested in the period, per user (and UTC day): one pass over
 * audit_findings, instead of a per-exchange lookup (several times faster on long periods).
 */
async function findingCounts(
  db: Kysely<Database>,
  f: ReportFilter,
  byDay: boolean,
): Promise<Map<string, { findings: number; exposed: number }>> {
  const conds = filterConditions(f)("requested_at");
  // Findings are recorded at or after their request: this bound only lets the database skip old partitions.
  if (f.since) conds.push(sql<SqlBool>`recorded_at >= ${f.since}`);
  const day = byDay ? sql`to_char((requested_at AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD')` : sql`NULL::text`;
  const res = await sql<{
    day: string | null;
    user_issuer: string | null;
    user_subject: string | null;
    n: number;
    x: number;
  }>`
    SELECT ${day} AS day, user_issuer, user_subject, count(*)::int AS n, count(*) FILTER (WHERE exposed)::int AS x
    FROM audit_findings ${whereClause(conds)}
    GROUP BY 1, user_issuer, user_subject`.execute(db);
  return new Map(
    res.rows.map((r) => [
      key(r.day, r.user_issuer, r.user_subject),
      { findings: num(r.n), exposed: num(r.x) },
    ]),
  );
}

/** Per user and UTC day: exchanges, sessions, completions, chats, refusals, failures, secrets, volume. */
export async function activityReport(db: Kysely<Database>, f: ReportFilter = {}): Promise<ActivityRow[]> {
  const res = await sql<
    CounterRow & {
      day: string;
      user_issuer: string | null;
      user_subject: string | null;
      user_email: string | null;
    }
  >`
    SELECT to_char((requested_at AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD') AS day,
           user_issuer, user_subject, max(user_email) AS user_email, ${COUNTERS}
    FROM audit_exchanges ${whereClause(filterConditions(f)("requested_at"))}
    GROUP BY 1, user_issuer, user_subject
    ORDER BY 1, user_subject NULLS LAST, user_email`.execute(db);
  const found = await findingCounts(db, f, true);
  return res.rows.map((r) => {
    const x = found.get(key(r.day, r.user_issuer, r.user_subject));
    const { requestBytes, models, firstRequestAt, lastRequestAt, ...c } = counters(r);
    return {
      day: r.day,
      userSubject: r.user_subject,
      userEmail: r.user_email,
      ...c,
      findings: x?.findings ?? 0,
      findingsExposed: x?.exposed ?? 0,
      requestBytes,
      responseBytes: num(r.response_bytes),
      models,
      firstRequestAt,
      lastRequestAt,
    };
  });
}

/** One row per user over the period, most active first. */
export async function usersReport(db: Kysely<Database>, f: ReportFilter = {}): Promise<UserRow[]> {
  const res = await sql<
    CounterRow & {
      user_subject: string | null;
      user_email: string | null;
      user_issuer: string | null;
      groups: string | null;
      active_days: number;
    }
  >`
    SELECT user_issuer, user_subject, max(user_email) AS user_email,
           (array_agg(array_to_string(user_groups, chr(31)) ORDER BY requested_at DESC)
             FILTER (WHERE user_groups IS NOT NULL))[1] AS groups,
           count(DISTINCT (requested_at AT TIME ZONE 'UTC')::date)::int AS active_days,
           ${COUNTERS}
    FROM audit_exchanges ${whereClause(filterConditions(f)("requested_at"))}
    GROUP BY user_issuer, user_subject
    ORDER BY exchanges DESC, user_subject NULLS LAST`.execute(db);
  const found = await findingCounts(db, f, false);
  // Addresses of the user's sessions opened in the period (one pass over audit_sessions).
  const addresses = await sql<{ user_issuer: string | null; user_subject: string | null; a: string[] }>`
    SELECT user_issuer, user_subject, array_agg(DISTINCT client_address) AS a
    FROM audit_sessions ${whereClause(filterConditions(f)("opened_at"))}
    GROUP BY user_issuer, user_subject`.execute(db);
  const clients = new Map(addresses.rows.map((r) => [key(null, r.user_issuer, r.user_subject), r.a ?? []]));
  return res.rows.map((r) => {
    const { exchanges, sessions, completions, chats, refused, failed, ...rest } = counters(r);
    const x = found.get(key(null, r.user_issuer, r.user_subject));
    const findings = x?.findings ?? 0;
    const findingsExposed = x?.exposed ?? 0;
    return {
      userSubject: r.user_subject,
      userEmail: r.user_email,
      userIssuer: r.user_issuer,
      groups: r.groups ? r.groups.split("\u001f").filter(Boolean).sort() : [],
      firstRequestAt: rest.firstRequestAt,
      lastRequestAt: rest.lastRequestAt,
      activeDays: num(r.active_days),
      exchanges,
      sessions,
      completions,
      chats,
      refused,
      failed,
      findings,
      findingsExposed,
      requestBytes: rest.requestBytes,
      models: rest.models,
      clientAddresses: [...(clients.get(key(null, r.user_issuer, r.user_subject)) ?? [])].sort(),
    };
  });
}

/** Every secret found in the period, oldest first. */
export async function secretsReport(db: Kysely<Database>, f: ReportFilter = {}): Promise<SecretRow[]> {
  const res = await sql<{
    recorded_at: Date;
    user_subject: string | null;
    user_email: string | null;
    direction: "request" | "response";
    rule_id: string;
    action: string;
    exposed: boolean;
    host: string | null;
    endpoint_kind: string | null;
    model: string | null;
    location: string;
    fingerprint: string;
    exchange_id: string;
    session_id: string | null;
  }>`
    SELECT recorded_at, user_subject, user_email, direction, rule_id, action, exposed, host, endpoint_kind, model,
           location, fingerprint, exchange_id, session_id
    FROM audit_findings ${whereClause(filterConditions(f)("recorded_at"))}
    ORDER BY recorded_at, exchange_id, direction, secret_offset`.execute(db);
  return res.rows.map((r) => ({
    recordedAt: date(r.recorded_at),
    userSubject: r.user_subject,
    userEmail: r.user_email,
    direction: r.direction,
    ruleId: r.rule_id,
    action: r.action,
    exposed: r.exposed,
    host: r.host,
    endpointKind: r.endpoint_kind,
    model: r.model,
    location: r.location,
    fingerprint: r.fingerprint,
    exchangeId: r.exchange_id,
    sessionId: r.session_id,
  }));
}
