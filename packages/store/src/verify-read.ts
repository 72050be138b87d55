import type { Backend, SqlSession } from "./backend.js";
import { PreHashed } from "./canonical.js";
import { AUDIT_TABLES, TABLES } from "./columns.js";
import type { AuditTable } from "./schema.js";

// Reading chains for verify: which chains exist (and from which seq, with `since`), and each table's rows of
// one chain in seq order, a page at a time. Large values (bodies, prompt, completion) are hashed by the
// database (sha256) instead of being transferred.

export interface FetchedRow {
  table: AuditTable;
  seq: number;
  row: Record<string, unknown>;
}

function selectList(table: AuditTable): string {
  return TABLES[table].columns
    .map(([name, type]) => {
      if (type === "bigtext") return `encode(sha256(convert_to("${name}", 'UTF8')), 'hex') AS "${name}"`;
      if (type === "bytea") return `encode(sha256("${name}"), 'hex') AS "${name}"`;
      return `"${name}"`;
    })
    .join(", ");
}

/** Pages one table's rows of one chain in seq order, never splitting a run of equal seqs across pages. */
export class TableCursor {
  readonly table: AuditTable;
  #from: number;
  #buf: FetchedRow[] = [];
  #done = false;
  readonly #sql: string;
  readonly #hashed: string[];
  readonly #chainId: string;

  constructor(
    table: AuditTable,
    chainId: string,
    from: number,
    pageSize: number,
    readonly backend: Backend,
  ) {
    this.table = table;
    this.#from = from;
    this.#sql = `SELECT ${selectList(table)} FROM ${table} WHERE chain_id = $2 AND seq >= $1 ORDER BY seq LIMIT ${pageSize}`;
    this.#chainId = chainId;
    this.#hashed = TABLES[table].columns.filter(([, t]) => t === "bigtext" || t === "bytea").map(([n]) => n);
    this.pageSize = pageSize;
  }

  readonly pageSize: number;

  async head(): Promise<FetchedRow | null> {
    if (this.#buf.length === 0 && !this.#done) await this.#fetch();
    return this.#buf[0] ?? null;
  }

  shift(): void {
    this.#buf.shift();
  }

  async #fetch(): Promise<void> {
    const rows = await this.backend.session((s: SqlSession) =>
      s.query<Record<string, unknown>>(this.#sql, [this.#from, this.#chainId]),
    );
    let page: FetchedRow[] = rows.map((row) => {
      for (const n of this.#hashed)
        if (row[n] !== null && row[n] !== undefined) row[n] = new PreHashed(String(row[n]));
      return { table: this.table, seq: Number(row.seq), row };
    });
    if (page.length < this.pageSize) {
      this.#done = true;
    } else {
      const last = (page.at(-1) as FetchedRow).seq;
      const kept = page.filter((r) => r.seq !== last);
      if (kept.length > 0) {
        page = kept;
        this.#from = last;
      } else {
        this.#from = last + 1;
      }
    }
    this.#buf = page;
  }
}

export async function listChains(backend: Backend, since: Date | undefined): Promise<Map<string, number>> {
  const parts = AUDIT_TABLES.map((t) =>
    since
      ? `SELECT chain_id, min(seq) AS start FROM ${t} WHERE "${TABLES[t].timeColumn}" >= $1 GROUP BY chain_id`
      : `SELECT DISTINCT chain_id, 0 AS start FROM ${t}`,
  );
  const rows = await backend.session((s) =>
    s.query<{ chain_id: string; start: string }>(
      `SELECT chain_id, min(start) AS start FROM (${parts.join(" UNION ALL ")}) c GROUP BY chain_id ORDER BY chain_id`,
      since ? [since] : [],
    ),
  );
  return new Map(rows.map((r) => [r.chain_id, Number(r.start)]));
}
