import { createHash } from "node:crypto";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { ConfigInvalidError } from "./errors.js";
import { Mutex } from "./mutex.js";
import { PGliteDialect } from "./pglite-dialect.js";
import { acquireDbLock, type DbLock } from "./pglite-lock.js";
import type { Database } from "./schema.js";

// The two database backends behind one small interface: Kysely for typed queries, and an exclusive raw
// session for what Kysely cannot express portably (multi-statement migration text, the writer's inserts).

/** One exclusive connection. `exec` runs multi-statement text without parameters. */
export interface SqlSession {
  /**
   * Runs one statement. `prepared`: a statement run often, worth a named prepared statement on this
   * connection (pg; PGlite ignores it). Only for a small, bounded set of texts.
   */
  query<R = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
    opts?: { prepared?: boolean },
  ): Promise<R[]>;
  exec(text: string): Promise<void>;
}

export interface Backend {
  readonly kind: "pg" | "pglite";
  readonly db: Kysely<Database>;
  /** Runs `fn` on one exclusive connection (a pooled pg client, or the PGlite gate). */
  session<T>(fn: (s: SqlSession) => Promise<T>, opts?: { noTimeout?: boolean }): Promise<T>;
  /** Cheap reachability check: resolves when the database answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface BackendOptions {
  databaseUrl?: string | undefined;
  dataDir: string;
  connectTimeoutMs: number;
  queryTimeoutMs: number;
  poolSize: number;
  onPoolError: (err: Error) => void;
}

export async function openBackend(opts: BackendOptions): Promise<Backend> {
  const url = opts.databaseUrl?.trim();
  if (!url) return openPGlite(join(opts.dataDir, "db"), opts.dataDir);
  if (url === "memory://") return openPGlite("memory://", null);
  if (/^postgres(ql)?:\/\//i.test(url)) return openPg(url, opts);
  throw new ConfigInvalidError(
    "databaseUrl: expected postgres://… or postgresql://… (or memory:// for tests, or nothing for the embedded database)",
  );
}

function openPg(url: string, opts: BackendOptions): Backend {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize,
    connectionTimeoutMillis: opts.connectTimeoutMs,
    query_timeout: opts.queryTimeoutMs + 1_000,
    statement_timeout: opts.queryTimeoutMs,
    idle_in_transaction_session_timeout: opts.queryTimeoutMs * 2,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    application_name: "copilot-audit",
  });
  // An idle client's error reaches the pool's handler; a checked-out client's error (connection reset between
  // queries) would otherwise be an uncaught 'error' event. The query in flight rejects on its own, and a broken
  // client is discarded by the pool on release.
  pool.on("error", opts.onPoolError);
  pool.on("connect", (client) => client.on("error", opts.onPoolError));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    kind: "pg",
    db,
    async session(fn, sopts) {
      const client = await pool.connect();
      const long = sopts?.noTimeout === true;
      // pg has no per-query "no timeout"; migrations get a day.
      const cfg = (text: string, values?: readonly unknown[], name?: string) =>
        ({
          text,
          values: values ? [...values] : [],
          ...(name ? { name } : {}),
          ...(long ? { query_timeout: 86_400_000 } : {}),
        }) as pg.QueryConfig;
      const s: SqlSession = {
        async query<R>(text: string, params?: readonly unknown[], qopts?: { prepared?: boolean }) {
          return (await client.query(cfg(text, params, qopts?.prepared ? statementName(text) : undefined)))
            .rows as R[];
        },
        async exec(text) {
          await client.query(long ? cfg(text) : text);
        },
      };
      try {
        if (long) await client.query("SET statement_timeout = 0");
        const out = await fn(s);
        if (long) await client.query(`SET statement_timeout = ${opts.queryTimeoutMs}`);
        client.release();
        return out;
      } catch (err) {
        // Never return a connection in an unknown state to the pool: destroy it.
        client.release(err instanceof Error ? err : new Error(String(err)));
        throw err;
      }
    },
    async ping() {
      const client = await pool.connect();
      try {
        await client.query("SELECT 1");
        client.release();
      } catch (err) {
        client.release(err instanceof Error ? err : new Error(String(err)));
        throw err;
      }
    },
    async close() {
      await db.destroy();
      // Kysely's driver takes over the pool only on its first query: when every query went through
      // session() (migrate, verify), destroy() leaves the pool open and an idle client keeps the process
      // alive for idleTimeoutMillis. End it ourselves unless Kysely already did.
      if (!(pool as pg.Pool & { ending?: boolean }).ending) await pool.end();
    },
  };
}

async function openPGlite(dataDirOrMemory: string, lockDir: string | null): Promise<Backend> {
  const lock: DbLock | null = lockDir === null ? null : await acquireDbLock(lockDir);
  let pglite: PGlite;
  try {
    // int8 as a decimal string, like pg, so both backends read the same types.
    pglite = await PGlite.create(dataDirOrMemory, { parsers: { 20: (v: string) => v } });
  } catch (err) {
    await lock?.release();
    throw err;
  }
  const gate = new Mutex();
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite, gate) });
  const s: SqlSession = {
    async query<R>(text: string, params?: readonly unknown[]) {
      const res = await pglite.query<R>(text, params ? [...params] : [], { rowMode: "object" });
      return res.rows;
    },
    async exec(text) {
      await pglite.exec(text);
    },
  };
  return {
    kind: "pglite",
    db,
    session: (fn) => gate.run(() => fn(s)),
    ping: () => gate.run(async () => void (await pglite.query("SELECT 1"))),
    async close() {
      await db.destroy();
      await gate.run(() => pglite.close());
      await lock?.release();
    },
  };
}

const statementNames = new Map<string, string>();
/** A stable name per statement text (pg prepares a named statement once per connection). */
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (!name) {
    name = `ca_${createHash("sha1").update(text).digest("hex").slice(0, 20)}`;
    if (statementNames.size < 1000) statementNames.set(text, name);
  }
  return name;
}
