import type { JsonObject, ResponseOutcome } from "./schema.js";

// Row types of the auditor views of migrations/0002_auditor.sql (documented in docs/auditing.md). Columns
// are only ever added to these views, never renamed or removed. bigint columns (counts, sizes, seq) read back
// as decimal strings on both backends.

/** audit_exchanges: one row per intercepted request, with its response (if any) and findings counts. */
export interface AuditExchangesView {
  exchange_id: string;
  session_id: string | null;
  session_seq: number;
  requested_at: Date;
  responded_at: Date | null;
  ended_at: Date | null;
  user_issuer: string | null;
  user_subject: string | null;
  user_email: string | null;
  user_groups: string[] | null;
  user_token_fingerprint: string | null;
  client_address: string | null;
  method: string;
  scheme: string;
  host: string;
  port: number;
  path: string;
  endpoint_kind: string;
  model: string | null;
  client_request_id: string | null;
  prompt_text: string | null;
  completion_text: string | null;
  status: number | null;
  outcome: ResponseOutcome | null;
  error_code: string | null;
  error_details: string | null;
  ttfb_ms: number | null;
  duration_ms: number | null;
  request_findings: string;
  response_findings: string;
  findings_count: string;
  findings_exposed: string;
  request_headers: JsonObject;
  request_body: string | null;
  request_body_binary: boolean;
  request_body_size: string;
  request_body_sha256: string;
  request_body_truncated: boolean;
  response_headers: JsonObject | null;
  response_body: string | null;
  response_body_binary: boolean | null;
  response_body_size: string | null;
  response_body_sha256: string | null;
  response_body_truncated: boolean | null;
  chain_id: string;
  seq: string;
}

/** audit_sessions: one row per client connection, open and close joined. */
export interface AuditSessionsView {
  session_id: string;
  opened_at: Date;
  closed_at: Date | null;
  duration_ms: string | null;
  mode: "intercept" | "tunnel" | "refused";
  client_address: string;
  client_port: number;
  target_host: string;
  target_port: number;
  sni: string | null;
  refusal_status: number | null;
  refusal_code: string | null;
  refusal_details: string | null;
  user_issuer: string | null;
  user_subject: string | null;
  user_email: string | null;
  user_groups: string[] | null;
  user_token_fingerprint: string | null;
  bytes_from_client: string | null;
  bytes_to_client: string | null;
  close_reason: string | null;
  exchange_count: number | null;
  chain_id: string;
  seq: string;
}

/** audit_findings: one row per secret found, with its exchange and identity. */
export interface AuditFindingsView {
  exchange_id: string;
  session_id: string | null;
  recorded_at: Date;
  requested_at: Date | null;
  direction: "request" | "response";
  rule_id: string;
  location: string;
  secret_offset: number;
  secret_length: number;
  fingerprint: string;
  action: string;
  exposed: boolean;
  user_issuer: string | null;
  user_subject: string | null;
  user_email: string | null;
  method: string | null;
  host: string | null;
  path: string | null;
  endpoint_kind: string | null;
  model: string | null;
  client_request_id: string | null;
  chain_id: string;
  seq: string;
}

/** audit_daily_activity: per user and UTC day. */
export interface AuditDailyActivityView {
  /** A SQL date. pg parses it as local midnight, PGlite as UTC midnight: select `day::text` to compare. */
  day: Date;
  user_issuer: string | null;
  user_subject: string | null;
  user_email: string | null;
  exchanges: string;
  sessions: string;
  completions: string;
  chats: string;
  succeeded: string;
  refused: string;
  failed: string;
  findings: string;
  findings_exposed: string;
  request_bytes: string;
  response_bytes: string;
  first_request_at: Date;
  last_request_at: Date;
  models: string[];
  client_addresses: string[];
}

/** audit_chain_rows: every hash-chained row, whatever its table. */
export interface AuditChainRowsView {
  chain_id: string;
  seq: string;
  table_name: string;
  at: Date;
  prev_hash: string;
  hash: string;
}

/** audit_chains: every writer chain and how it ended. */
export interface AuditChainsView {
  chain_id: string;
  writer_name: string;
  host: string;
  pid: number;
  started_at: Date;
  closed_at: Date | null;
  close_reason: "clean" | "recovered" | null;
  last_seq: string | null;
  last_hash: string | null;
}

/** audit_chain_gaps: declared removals (retention). */
export interface AuditChainGapsView {
  gap_chain_id: string;
  from_seq: string;
  to_seq: string;
  last_hash: string;
  reason: string;
  declared_at: Date;
  declared_by_chain_id: string;
  declared_by_seq: string;
}

/** audit_retention_runs: the signed-off record of each retention run. */
export interface AuditRetentionRunsView {
  run_id: string;
  run_at: Date;
  signed_off_by: string;
  host: string;
  older_than: string;
  horizon: Date;
  range_from: Date;
  range_to: Date;
  partitions: string[];
  rows_removed: string;
  rows_by_table: JsonObject;
  gaps_declared: number;
  rows_verified: string;
  chain_heads: JsonObject;
  kept_in_default: string;
  reason: string | null;
  chain_id: string;
  seq: string;
}

/** The auditor views, merged into `Database`. */
export interface AuditViews {
  audit_exchanges: AuditExchangesView;
  audit_sessions: AuditSessionsView;
  audit_findings: AuditFindingsView;
  audit_daily_activity: AuditDailyActivityView;
  audit_chain_rows: AuditChainRowsView;
  audit_chains: AuditChainsView;
  audit_chain_gaps: AuditChainGapsView;
  audit_retention_runs: AuditRetentionRunsView;
}
