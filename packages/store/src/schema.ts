import type { ColumnType } from "kysely";
import type { AuditViews } from "./views.js";

// The typed mirror of migrations/*.sql. Audit tables are append-only, so no column is updatable (`never`).
// bigint columns read back as decimal strings on both backends (pg's default; PGlite is configured to match).

type Col<T> = ColumnType<T, T, never>;
type Nullable<T> = ColumnType<T | null, T | null | undefined, never>;
type BigIntCol = ColumnType<string, string | number | bigint, never>;
type Timestamp = ColumnType<Date, Date | string, never>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, never>;
type Json = ColumnType<JsonObject, string | JsonObject, never>;
type NullableJson = ColumnType<JsonObject | null, string | JsonObject | null | undefined, never>;
type Bytes = ColumnType<Uint8Array | null, Uint8Array | null | undefined, never>;

/** A JSON object as stored in a jsonb column. Header maps hold strings or arrays of strings. */
export interface JsonObject {
  [key: string]: JsonValue;
}
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;

/** Columns every hash-chained audit row carries. */
export interface ChainColumns {
  chain_id: Col<string>;
  seq: BigIntCol;
  prev_hash: Col<string>;
  hash: Col<string>;
}

export interface ChainsTable extends ChainColumns {
  writer_name: Col<string>;
  host: Col<string>;
  pid: Col<number>;
  started_at: Timestamp;
}

export interface ChainClosesTable extends ChainColumns {
  closed_chain_id: Col<string>;
  closed_at: Timestamp;
  reason: Col<"clean" | "recovered">;
  last_seq: BigIntCol;
  last_hash: Col<string>;
}

/** Declared, deliberate removals of a seq range of a chain (retention); see migrations/0001_audit.sql. */
export interface ChainGapsTable extends ChainColumns {
  gap_chain_id: Col<string>;
  from_seq: BigIntCol;
  to_seq: BigIntCol;
  last_hash: Col<string>;
  reason: Col<string>;
  declared_at: Timestamp;
}

export interface IdentityColumns {
  identity_issuer: Nullable<string>;
  identity_subject: Nullable<string>;
  identity_email: Nullable<string>;
  identity_groups: Nullable<string[]>;
  identity_token_fingerprint: Nullable<string>;
}

export interface SessionsTable extends ChainColumns, IdentityColumns {
  id: Col<string>;
  opened_at: Timestamp;
  client_address: Col<string>;
  client_port: Col<number>;
  target_host: Col<string>;
  target_port: Col<number>;
  mode: Col<"intercept" | "tunnel" | "refused">;
  sni: Nullable<string>;
  refusal_status: Nullable<number>;
  refusal_code: Nullable<string>;
  refusal_details: Nullable<string>;
}

export interface SessionEndsTable extends ChainColumns {
  session_id: Col<string>;
  closed_at: Timestamp;
  bytes_from_client: BigIntCol;
  bytes_to_client: BigIntCol;
  close_reason: Col<string>;
  exchange_count: Col<number>;
}

export interface BodyColumns {
  body_text: Nullable<string>;
  body_bytes: Bytes;
  body_size: BigIntCol;
  body_sha256: Col<string>;
  body_truncated: Col<boolean>;
}

export interface ExchangesTable extends ChainColumns, IdentityColumns, BodyColumns {
  id: Col<string>;
  session_id: Nullable<string>;
  session_seq: Col<number>;
  requested_at: Timestamp;
  method: Col<string>;
  scheme: Col<string>;
  host: Col<string>;
  port: Col<number>;
  path: Col<string>;
  endpoint_kind: Col<string>;
  model: Nullable<string>;
  client_request_id: Nullable<string>;
  headers: Json;
  prompt_text: Nullable<string>;
}

export type ResponseOutcome = "completed" | "aborted" | "upstream_error" | "refused" | "incomplete";

export interface ExchangeResponsesTable extends ChainColumns, BodyColumns {
  exchange_id: Col<string>;
  responded_at: NullableTimestamp;
  ended_at: Timestamp;
  status: Nullable<number>;
  headers: NullableJson;
  completion_text: Nullable<string>;
  ttfb_ms: Nullable<number>;
  duration_ms: Nullable<number>;
  outcome: Col<ResponseOutcome>;
  error_code: Nullable<string>;
  error_details: Nullable<string>;
}

export interface FindingsTable extends ChainColumns {
  exchange_id: Col<string>;
  recorded_at: Timestamp;
  direction: Col<"request" | "response">;
  rule_id: Col<string>;
  location: Col<string>;
  offset: Col<number>;
  length: Col<number>;
  fingerprint: Col<string>;
  action: Col<string>;
}

/** One retention run (migrations/0002_auditor.sql): who dropped which monthly partitions, and what they held. */
export interface RetentionRunsTable extends ChainColumns {
  id: Col<string>;
  run_at: Timestamp;
  signed_off_by: Col<string>;
  host: Col<string>;
  older_than: Col<string>;
  horizon: Timestamp;
  range_from: Timestamp;
  range_to: Timestamp;
  partitions: Col<string[]>;
  rows_removed: BigIntCol;
  rows_by_table: Json;
  gaps_declared: Col<number>;
  rows_verified: BigIntCol;
  chain_heads: Json;
  kept_in_default: BigIntCol;
  reason: Nullable<string>;
}

/** Audit trail of just-in-time approvals (migrations/0003_approvals.sql): requests, reasons, decisions, expiries, revocations. */
export interface ApprovalEventsTable extends ChainColumns {
  request_id: Col<string>;
  event: Col<ApprovalEventKind>;
  at: Timestamp;
  issuer: Nullable<string>;
  subject: Col<string>;
  email: Nullable<string>;
  groups: Nullable<string[]>;
  actor: Col<string>;
  actor_kind: Col<ApprovalActorKind>;
  actor_subject: Nullable<string>;
  reason: Nullable<string>;
  note: Nullable<string>;
  ttl_seconds: Nullable<number>;
  expires_at: NullableTimestamp;
}

export type ApprovalEventKind = "requested" | "reason" | "granted" | "denied" | "revoked" | "expired";
export type ApprovalActorKind = "requester" | "approver" | "operator" | "system";
export type ApprovalStatus = "pending" | "granted" | "denied" | "revoked" | "expired";

type Mutable<T> = ColumnType<T, T, T>;
type MutableNullable<T> = ColumnType<T | null, T | null | undefined, T | null>;
type MutableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

/** Operational (mutable, not audit) state of approval requests (0003): what gateways decide from. */
export interface ApprovalRequestsTable {
  id: Col<string>;
  issuer: Col<string>;
  subject: Col<string>;
  email: Nullable<string>;
  groups: Nullable<string[]>;
  reason: MutableNullable<string>;
  status: Mutable<ApprovalStatus>;
  requested_at: Timestamp;
  default_ttl_seconds: Col<number>;
  decided_at: MutableTimestamp;
  decided_by: MutableNullable<string>;
  decision_note: MutableNullable<string>;
  ttl_seconds: MutableNullable<number>;
  expires_at: MutableTimestamp;
  revoked_at: MutableTimestamp;
  revoked_by: MutableNullable<string>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  change_seq: ColumnType<string, never, never>;
}

/** Read-only view (0003): one row per approval request, derived from approval_events alone. */
export interface ApprovalsView {
  id: string;
  subject: string;
  email: string | null;
  groups: string[] | null;
  reason: string | null;
  status: ApprovalStatus;
  requested_at: Date;
  decided_at: Date | null;
  decided_by: string | null;
  decision_note: string | null;
  ttl_seconds: number | null;
  expires_at: Date | null;
  revoked_at: Date | null;
  revoked_by: string | null;
  issuer: string | null;
}

export interface SchemaMigrationsTable {
  name: Col<string>;
  checksum: Col<string>;
  applied_at: ColumnType<Date, Date | string | undefined, never>;
}

/** Read-only view: each exchange joined with its response. */
export interface ExchangeLogView {
  id: string;
  requested_at: Date;
  ended_at: Date | null;
  identity_subject: string | null;
  identity_email: string | null;
  method: string;
  host: string;
  path: string;
  endpoint_kind: string;
  model: string | null;
  client_request_id: string | null;
  status: number | null;
  outcome: ResponseOutcome | null;
  ttfb_ms: number | null;
  duration_ms: number | null;
  prompt_text: string | null;
  completion_text: string | null;
  session_id: string | null;
  chain_id: string;
}

/** The whole schema, for `Kysely<Database>` (the auditor views of 0002 come from `AuditViews`). */
export interface Database extends AuditViews {
  schema_migrations: SchemaMigrationsTable;
  chains: ChainsTable;
  chain_closes: ChainClosesTable;
  chain_gaps: ChainGapsTable;
  sessions: SessionsTable;
  session_ends: SessionEndsTable;
  exchanges: ExchangesTable;
  exchange_responses: ExchangeResponsesTable;
  findings: FindingsTable;
  exchange_log: ExchangeLogView;
  approval_events: ApprovalEventsTable;
  approval_requests: ApprovalRequestsTable;
  approvals: ApprovalsView;
  retention_runs: RetentionRunsTable;
}

/** Names of the hash-chained audit tables. */
export type AuditTable =
  | "chains"
  | "chain_closes"
  | "chain_gaps"
  | "sessions"
  | "session_ends"
  | "exchanges"
  | "exchange_responses"
  | "findings"
  | "retention_runs"
  | "approval_events";
