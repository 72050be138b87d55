import type { AuditTable, JsonObject } from "./schema.js";

// Column lists of the hash-chained audit tables, in the order that the canonical form, the spool and the
// multi-row INSERT use. Must match migrations/*.sql (a test checks it against information_schema).

/** How a column is stored, canonicalised and spooled. `bigtext` is text hashed (not copied) into the chain. */
export type ColumnType =
  | "uuid"
  | "text"
  | "bigtext"
  | "int"
  | "bigint"
  | "timestamptz"
  | "bool"
  | "jsonb"
  | "bytea"
  | "text[]";

/** A column value in its normalised in-memory form (see `normalizeValue`). */
export type RowValue = string | number | boolean | Date | Uint8Array | string[] | JsonObject | null;

/** One row of an audit table, keyed by column name. */
export type Row = Record<string, RowValue>;

export interface TableSpec {
  readonly table: AuditTable;
  /** Every column, chain columns last, in canonical order. */
  readonly columns: ReadonlyArray<readonly [name: string, type: ColumnType]>;
  /** The column that identifies the row for humans (verify reports it). */
  readonly idColumn: string;
  /** The partition key / timestamp of the row. */
  readonly timeColumn: string;
  /** Columns that may be NULL (all others are NOT NULL). */
  readonly nullable: ReadonlySet<string>;
  /** Columns with a CHECK (… IN (…)) constraint and their allowed values. */
  readonly enums?: Readonly<Record<string, readonly string[]>>;
}

const chainColumns = [
  ["chain_id", "uuid"],
  ["seq", "bigint"],
  ["prev_hash", "text"],
  ["hash", "text"],
] as const;

const identityColumns = [
  ["identity_issuer", "text"],
  ["identity_subject", "text"],
  ["identity_email", "text"],
  ["identity_groups", "text[]"],
  ["identity_token_fingerprint", "text"],
] as const;

const identityNames = identityColumns.map(([name]) => name);

const bodyColumns = [
  ["body_text", "bigtext"],
  ["body_bytes", "bytea"],
  ["body_size", "bigint"],
  ["body_sha256", "text"],
  ["body_truncated", "bool"],
] as const;

export const TABLES: Readonly<Record<AuditTable, TableSpec>> = {
  chains: {
    table: "chains",
    nullable: new Set(),
    idColumn: "chain_id",
    timeColumn: "started_at",
    columns: [
      ["writer_name", "text"],
      ["host", "text"],
      ["pid", "int"],
      ["started_at", "timestamptz"],
      ...chainColumns,
    ],
  },
  chain_closes: {
    table: "chain_closes",
    nullable: new Set(),
    enums: { reason: ["clean", "recovered"] },
    idColumn: "closed_chain_id",
    timeColumn: "closed_at",
    columns: [
      ["closed_chain_id", "uuid"],
      ["closed_at", "timestamptz"],
      ["reason", "text"],
      ["last_seq", "bigint"],
      ["last_hash", "text"],
      ...chainColumns,
    ],
  },
  chain_gaps: {
    table: "chain_gaps",
    nullable: new Set(),
    idColumn: "gap_chain_id",
    timeColumn: "declared_at",
    columns: [
      ["gap_chain_id", "uuid"],
      ["from_seq", "bigint"],
      ["to_seq", "bigint"],
      ["last_hash", "text"],
      ["reason", "text"],
      ["declared_at", "timestamptz"],
      ...chainColumns,
    ],
  },
  sessions: {
    table: "sessions",
    nullable: new Set(["sni", "refusal_status", "refusal_code", "refusal_details", ...identityNames]),
    enums: { mode: ["intercept", "tunnel", "refused"] },
    idColumn: "id",
    timeColumn: "opened_at",
    columns: [
      ["id", "uuid"],
      ["opened_at", "timestamptz"],
      ["client_address", "text"],
      ["client_port", "int"],
      ["target_host", "text"],
      ["target_port", "int"],
      ["mode", "text"],
      ["sni", "text"],
      ["refusal_status", "int"],
      ["refusal_code", "text"],
      ["refusal_details", "text"],
      ...identityColumns,
      ...chainColumns,
    ],
  },
  session_ends: {
    table: "session_ends",
    nullable: new Set(),
    idColumn: "session_id",
    timeColumn: "closed_at",
    columns: [
      ["session_id", "uuid"],
      ["closed_at", "timestamptz"],
      ["bytes_from_client", "bigint"],
      ["bytes_to_client", "bigint"],
      ["close_reason", "text"],
      ["exchange_count", "int"],
      ...chainColumns,
    ],
  },
  exchanges: {
    table: "exchanges",
    nullable: new Set([
      "session_id",
      "model",
      "client_request_id",
      "body_text",
      "body_bytes",
      "prompt_text",
      ...identityNames,
    ]),
    idColumn: "id",
    timeColumn: "requested_at",
    columns: [
      ["id", "uuid"],
      ["session_id", "uuid"],
      ["session_seq", "int"],
      ["requested_at", "timestamptz"],
      ["method", "text"],
      ["scheme", "text"],
      ["host", "text"],
      ["port", "int"],
      ["path", "text"],
      ["endpoint_kind", "text"],
      ["model", "text"],
      ["client_request_id", "text"],
      ...identityColumns,
      ["headers", "jsonb"],
      ...bodyColumns,
      ["prompt_text", "bigtext"],
      ...chainColumns,
    ],
  },
  exchange_responses: {
    table: "exchange_responses",
    nullable: new Set([
      "responded_at",
      "status",
      "headers",
      "body_text",
      "body_bytes",
      "completion_text",
      "ttfb_ms",
      "duration_ms",
      "error_code",
      "error_details",
    ]),
    enums: { outcome: ["completed", "aborted", "upstream_error", "refused", "incomplete"] },
    idColumn: "exchange_id",
    timeColumn: "ended_at",
    columns: [
      ["exchange_id", "uuid"],
      ["responded_at", "timestamptz"],
      ["ended_at", "timestamptz"],
      ["status", "int"],
      ["headers", "jsonb"],
      ...bodyColumns,
      ["completion_text", "bigtext"],
      ["ttfb_ms", "int"],
      ["duration_ms", "int"],
      ["outcome", "text"],
      ["error_code", "text"],
      ["error_details", "text"],
      ...chainColumns,
    ],
  },
  findings: {
    table: "findings",
    nullable: new Set(),
    enums: { direction: ["request", "response"] },
    idColumn: "exchange_id",
    timeColumn: "recorded_at",
    columns: [
      ["exchange_id", "uuid"],
      ["recorded_at", "timestamptz"],
      ["direction", "text"],
      ["rule_id", "text"],
      ["location", "text"],
      ["offset", "int"],
      ["length", "int"],
      ["fingerprint", "text"],
      ["action", "text"],
      ...chainColumns,
    ],
  },
  retention_runs: {
    table: "retention_runs",
    nullable: new Set(["reason"]),
    idColumn: "id",
    timeColumn: "run_at",
    columns: [
      ["id", "uuid"],
      ["run_at", "timestamptz"],
      ["signed_off_by", "text"],
      ["host", "text"],
      ["older_than", "text"],
      ["horizon", "timestamptz"],
      ["range_from", "timestamptz"],
      ["range_to", "timestamptz"],
      ["partitions", "text[]"],
      ["rows_removed", "bigint"],
      ["rows_by_table", "jsonb"],
      ["gaps_declared", "int"],
      ["rows_verified", "bigint"],
      ["chain_heads", "jsonb"],
      ["kept_in_default", "bigint"],
      ["reason", "text"],
      ...chainColumns,
    ],
  },
  approval_events: {
    table: "approval_events",
    nullable: new Set([
      "issuer",
      "email",
      "groups",
      "actor_subject",
      "reason",
      "note",
      "ttl_seconds",
      "expires_at",
    ]),
    enums: {
      event: ["requested", "reason", "granted", "denied", "revoked", "expired"],
      actor_kind: ["requester", "approver", "operator", "system"],
    },
    idColumn: "request_id",
    timeColumn: "at",
    columns: [
      ["request_id", "text"],
      ["event", "text"],
      ["at", "timestamptz"],
      ["issuer", "text"],
      ["subject", "text"],
      ["email", "text"],
      ["groups", "text[]"],
      ["actor", "text"],
      ["actor_kind", "text"],
      ["actor_subject", "text"],
      ["reason", "text"],
      ["note", "text"],
      ["ttl_seconds", "int"],
      ["expires_at", "timestamptz"],
      ...chainColumns,
    ],
  },
};

/** Chain order of the tables does not matter; this is the order verify and the writer iterate them in. */
export const AUDIT_TABLES: readonly AuditTable[] = [
  "chains",
  "sessions",
  "exchanges",
  "findings",
  "exchange_responses",
  "session_ends",
  "chain_closes",
  "chain_gaps",
  "approval_events",
  "retention_runs",
];
