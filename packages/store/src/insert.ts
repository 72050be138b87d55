import type { SqlSession } from "./backend.js";
import type { ChainedRow } from "./chain.js";
import { type ColumnType, type RowValue, TABLES } from "./columns.js";
import type { AuditTable } from "./schema.js";

// Multi-row inserts for a group commit. All rows of a commit go in ONE statement when they fit under the
// protocol's 65,535-parameter limit (data-modifying CTEs, one per table: one round trip, one implicit
// transaction); larger commits use several statements inside BEGIN/COMMIT. ON CONFLICT DO NOTHING on the
// (chain_id, seq, time) keys makes inserting the same rows again a no-op, which spool replay relies on.

const MAX_PARAMS = 65_000;

const CAST: Record<ColumnType, string> = {
  uuid: "uuid",
  text: "text",
  bigtext: "text",
  int: "int4",
  bigint: "int8",
  timestamptz: "timestamptz",
  bool: "bool",
  jsonb: "jsonb",
  bytea: "bytea",
  "text[]": "text[]",
};

function param(type: ColumnType, v: RowValue): unknown {
  if (v === null) return null;
  if (type === "jsonb") return JSON.stringify(v);
  if (type === "bytea") return Buffer.isBuffer(v) ? v : Buffer.from(v as Uint8Array);
  return v;
}

interface Statement {
  text: string;
  params: unknown[];
}

function insertSql(table: AuditTable, rows: readonly ChainedRow[], params: unknown[]): string {
  const cols = TABLES[table].columns;
  const tuples: string[] = [];
  for (const { row } of rows) {
    const ph: string[] = [];
    for (const [name, type] of cols) {
      params.push(param(type, row[name] ?? null));
      ph.push(`$${params.length}::${CAST[type]}`);
    }
    tuples.push(`(${ph.join(",")})`);
  }
  const names = cols.map(([n]) => `"${n}"`).join(",");
  return `INSERT INTO ${table} (${names}) VALUES ${tuples.join(",")} ON CONFLICT DO NOTHING`;
}

/** Splits rows into statements under the parameter limit; rows of a table keep their order. */
export function buildStatements(rows: readonly ChainedRow[]): Statement[] {
  const statements: Statement[] = [];
  let groups = new Map<AuditTable, ChainedRow[]>();
  let paramCount = 0;
  const flush = () => {
    if (groups.size === 0) return;
    const params: unknown[] = [];
    const parts = [...groups].map(([t, rs]) => insertSql(t, rs, params));
    const text =
      parts.length === 1
        ? (parts[0] as string)
        : `WITH ${parts.map((p, i) => `w${i} AS (${p})`).join(", ")} SELECT 1`;
    statements.push({ text, params });
    groups = new Map();
    paramCount = 0;
  };
  for (const r of rows) {
    const n = TABLES[r.table].columns.length;
    if (paramCount + n > MAX_PARAMS) flush();
    const g = groups.get(r.table);
    if (g) g.push(r);
    else groups.set(r.table, [r]);
    paramCount += n;
  }
  flush();
  return statements;
}

/** Inserts rows atomically: one statement, or BEGIN … COMMIT around several. */
export async function insertRows(s: SqlSession, rows: readonly ChainedRow[]): Promise<void> {
  const statements = buildStatements(rows);
  if (statements.length === 0) return;
  if (statements.length === 1) {
    const st = statements[0] as Statement;
    await s.query(st.text, st.params);
    return;
  }
  await s.exec("BEGIN");
  try {
    for (const st of statements) await s.query(st.text, st.params);
    await s.exec("COMMIT");
  } catch (err) {
    await s.exec("ROLLBACK").catch(() => {});
    throw err;
  }
}
