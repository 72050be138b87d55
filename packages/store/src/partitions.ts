import { type Kysely, sql } from "kysely";
import { TABLES } from "./columns.js";
import type { AuditTable, Database } from "./schema.js";

// The monthly partitions of the audit tables, as the catalog describes them (bounds read by the database, so
// the session's time zone does not matter). pg_get_expr(bound, 0): bounds hold no column references, and
// naming the partition would lock it (and wait behind whoever holds it exclusively).

/** The partitioned audit tables (sessions, session_ends, exchanges, exchange_responses, findings). */
export const PARTITIONED_TABLES = [
  "sessions",
  "session_ends",
  "exchanges",
  "exchange_responses",
  "findings",
] as const satisfies readonly AuditTable[];

export type PartitionedTable = (typeof PARTITIONED_TABLES)[number];

export interface PartitionInfo {
  table: PartitionedTable;
  partition: string;
  /** null for the DEFAULT partition. */
  from: Date | null;
  to: Date | null;
}

const BOUNDS = String.raw`FROM \('([^']+)'\) TO \('([^']+)'\)`;

/** Every partition of the partitioned audit tables, oldest first (DEFAULT partitions last). */
export async function listPartitions(db: Kysely<Database>): Promise<PartitionInfo[]> {
  const res = await sql<{ parent: string; partition: string; lower: Date | null; upper: Date | null }>`
    SELECT p.relname AS parent, c.relname AS partition,
           (regexp_match(pg_get_expr(c.relpartbound, 0), ${BOUNDS}))[1]::timestamptz AS lower,
           (regexp_match(pg_get_expr(c.relpartbound, 0), ${BOUNDS}))[2]::timestamptz AS upper
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    JOIN pg_class p ON p.oid = i.inhparent
    WHERE p.relnamespace = current_schema()::regnamespace
      AND p.relname IN (${sql.join([...PARTITIONED_TABLES])})
    ORDER BY lower NULLS LAST, p.relname`.execute(db);
  return res.rows.map((r) => ({
    table: r.parent as PartitionedTable,
    partition: r.partition,
    from: r.lower === null ? null : new Date(r.lower),
    to: r.upper === null ? null : new Date(r.upper),
  }));
}

/** The partition key column of a partitioned table. */
export function timeColumn(table: PartitionedTable): string {
  return TABLES[table].timeColumn;
}

/** Start of the UTC month that contains `d`. */
export function monthStart(d: Date): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
}

/** "YYYY-MM" of a UTC month start. */
export function monthLabel(d: Date): string {
  return d.toISOString().slice(0, 7);
}
