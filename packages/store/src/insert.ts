import type { SqlSession } from "./backend.js";
import type { ChainedRow } from "./chain.js";
import { TABLES } from "./columns.js";
import type { AuditTable } from "./schema.js";

// Multi-row inserts for a group commit, shaped for ingest speed (measured against alternatives on this
// machine: thousands of placeholders, all-JSON records, unnest of per-column arrays were each slower):
//   * the small columns of a table's rows travel as ONE json parameter, expanded by json_populate_recordset;
//   * the large ones (bodies, prompt, completion) as plain text/bytea parameters, one per non-NULL value, so the
//     server copies them instead of parsing them out of JSON; joined back by row number;
//   * all tables of a commit share one statement of data-modifying CTEs: one round trip, one implicit
//     transaction. Very large commits are split into several statements inside BEGIN/COMMIT.
// ON CONFLICT DO NOTHING on the (chain_id, seq, time) keys makes inserting the same rows again a no-op, which
// spool replay relies on.

/** Split a commit into several statements above this many parameter bytes or parameters. */
const MAX_STATEMENT_BYTES = 32 * 1024 * 1024;
const MAX_PARAMS = 30_000;

interface Statement {
  text: string;
  params: unknown[];
}

const isLarge = (type: string) => type === "bigtext" || type === "bytea";

const smallJsonCache = new WeakMap<ChainedRow, string>();

function smallJson(r: ChainedRow): string {
  let json = smallJsonCache.get(r);
  if (json === undefined) {
    const o: Record<string, unknown> = {};
    for (const [name, type] of TABLES[r.table].columns) if (!isLarge(type)) o[name] = r.row[name] ?? null;
    json = JSON.stringify(o); // Date → ISO-8601 via toJSON; jsonb objects and text[] arrays stay JSON
    smallJsonCache.set(r, json);
  }
  return json;
}

/** Serialises a row's small columns ahead of its commit (the writer calls it when the row is queued). */
export function prepareRow(r: ChainedRow): ChainedRow {
  smallJson(r);
  return r;
}

/** SQL for one table's rows; appends its parameters to `params`. */
function tableSql(table: AuditTable, rows: readonly ChainedRow[], params: unknown[]): string {
  const cols = TABLES[table].columns;
  const names = cols.map(([n]) => `"${n}"`).join(",");
  const large = cols.filter(([, t]) => isLarge(t));
  params.push(`[${rows.map(smallJson).join(",")}]`);
  const json = `json_populate_recordset(NULL::${table}, $${params.length}::json)`;
  if (large.length === 0)
    return `INSERT INTO ${table} (${names}) SELECT ${names} FROM ${json} ON CONFLICT DO NOTHING`;
  const tuples = rows.map((r, i) => {
    const vals = large.map(([name, type]) => {
      const v = r.row[name] ?? null;
      const cast = type === "bytea" ? "bytea" : "text";
      if (v === null) return `NULL::${cast}`;
      params.push(type === "bytea" ? Buffer.from(v as Uint8Array) : v);
      return `$${params.length}::${cast}`;
    });
    return `(${i + 1},${vals.join(",")})`;
  });
  const select = cols.map(([n, t]) => (isLarge(t) ? `l."${n}"` : `r."${n}"`)).join(",");
  return (
    `INSERT INTO ${table} (${names}) SELECT ${select} FROM ${json} WITH ORDINALITY AS r ` +
    `JOIN (VALUES ${tuples.join(",")}) AS l(i,${large.map(([n]) => `"${n}"`).join(",")}) ON l.i = r.ordinality ` +
    "ON CONFLICT DO NOTHING"
  );
}

/** Groups rows into statements, splitting very large commits; rows of a table keep their order. */
export function buildStatements(rows: readonly ChainedRow[]): Statement[] {
  const statements: Statement[] = [];
  let groups = new Map<AuditTable, ChainedRow[]>();
  let bytes = 0;
  let paramCount = 0;
  const flush = () => {
    if (groups.size === 0) return;
    const params: unknown[] = [];
    const parts = [...groups].map(([t, rs]) => tableSql(t, rs, params));
    const text =
      parts.length === 1
        ? (parts[0] as string)
        : `WITH ${parts.map((p, i) => `w${i} AS (${p})`).join(", ")} SELECT 1`;
    statements.push({ text, params });
    groups = new Map();
    bytes = 0;
    paramCount = 0;
  };
  for (const r of rows) {
    let size = 512;
    let n = 0;
    for (const [name, type] of TABLES[r.table].columns) {
      const v = r.row[name] ?? null;
      if (typeof v === "string") size += v.length;
      else if (v instanceof Uint8Array) size += v.byteLength;
      if (isLarge(type) && v !== null) n++;
    }
    if (bytes > 0 && (bytes + size > MAX_STATEMENT_BYTES || paramCount + n + 1 > MAX_PARAMS)) flush();
    const g = groups.get(r.table);
    if (g) g.push(r);
    else {
      groups.set(r.table, [r]);
      paramCount++;
    }
    bytes += size;
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
    // Low-concurrency commits (a request, plus the previous response) repeat a handful of statement shapes:
    // prepare those once per connection instead of parsing and planning each time. Larger commits vary in
    // shape with every batch, so they stay unnamed (and the server does not collect statements).
    await s.query(st.text, st.params, { prepared: rows.length <= 4 });
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
