import type { PGlite } from "@electric-sql/pglite";
import {
  CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from "kysely";
import type { Mutex } from "./mutex.js";

// A small Kysely dialect for PGlite. PGlite is one single-user backend, so the driver hands out one
// connection at a time (a FIFO mutex shared with the store's raw sessions): queries are serialised through
// PGlite's `query`, and a transaction holds the connection exclusively from BEGIN to COMMIT/ROLLBACK.

class PGliteConnection implements DatabaseConnection {
  readonly #pg: PGlite;

  constructor(pg: PGlite) {
    this.#pg = pg;
  }

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const res = await this.#pg.query<R>(compiled.sql, compiled.parameters as unknown[], {
      rowMode: "object",
    });
    const isWrite =
      res.affectedRows !== undefined && /^(INSERT|UPDATE|DELETE|MERGE)/i.test(compiled.sql.trimStart());
    return isWrite ? { rows: res.rows, numAffectedRows: BigInt(res.affectedRows ?? 0) } : { rows: res.rows };
  }

  async *streamQuery<R>(compiled: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    yield await this.executeQuery<R>(compiled);
  }
}

class PGliteDriver implements Driver {
  readonly #gate: Mutex;
  readonly #conn: PGliteConnection;
  readonly #releases = new Map<DatabaseConnection, () => void>();

  constructor(pg: PGlite, gate: Mutex) {
    this.#gate = gate;
    this.#conn = new PGliteConnection(pg);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    const release = await this.#gate.acquire();
    this.#releases.set(this.#conn, release);
    return this.#conn;
  }

  async beginTransaction(conn: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    let sql = "begin";
    if (settings.isolationLevel) sql += ` isolation level ${settings.isolationLevel}`;
    if (settings.accessMode) sql += ` ${settings.accessMode}`;
    await conn.executeQuery(raw(sql));
  }

  async commitTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(raw("commit"));
  }

  async rollbackTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(raw("rollback"));
  }

  async releaseConnection(conn: DatabaseConnection): Promise<void> {
    const release = this.#releases.get(conn);
    this.#releases.delete(conn);
    release?.();
  }

  async destroy(): Promise<void> {}
}

function raw(sql: string): CompiledQuery {
  return CompiledQuery.raw(sql, []);
}

/** Kysely dialect over one PGlite instance; `gate` serialises every user of that instance. */
export class PGliteDialect implements Dialect {
  readonly #pg: PGlite;
  readonly #gate: Mutex;

  constructor(pg: PGlite, gate: Mutex) {
    this.#pg = pg;
    this.#gate = gate;
  }

  createAdapter(): DialectAdapter {
    return new PostgresAdapter();
  }

  createDriver(): Driver {
    return new PGliteDriver(this.#pg, this.#gate);
  }

  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }

  // biome-ignore lint/suspicious/noExplicitAny: Kysely's own signature
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new PostgresIntrospector(db);
  }
}
