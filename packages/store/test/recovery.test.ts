import { execFileSync, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { backends } from "@copilot-audit/testkit";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, type Store } from "../src/index.js";
import { openTestStore, prepareTestDatabase, type TestDatabaseDir, type TestStore } from "./helpers.js";

// A real crash: a child process records traffic with the built store and is SIGKILLed mid-exchange. The
// next writer with the same name marks what it left open, and (PGlite) takes over its stale lock.

const storeDir = fileURLToPath(new URL("..", import.meta.url));
const child = fileURLToPath(new URL("./fixtures/crash-child.mjs", import.meta.url));

beforeAll(() => {
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, "-b", storeDir], { stdio: "inherit" });
}, 120_000);

interface Crashed {
  chainId: string;
  sessionId: string;
  ids: string[];
}

function runAndKill(env: Record<string, string | undefined>): Promise<Crashed> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    p.stderr.on("data", (d) => {
      err += d;
    });
    p.stdout.on("data", (d) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl >= 0) {
        const info = JSON.parse(out.slice(0, nl)) as Crashed;
        p.once("exit", () => resolve(info));
        p.kill("SIGKILL");
      }
    });
    p.once("exit", (code) => {
      if (!out.includes("\n")) reject(new Error(`child exited ${code} before recording: ${err}`));
    });
  });
}

describe.each(await backends())("crash recovery on %s", (backend) => {
  let t: TestDatabaseDir;
  let store: Store;
  let crashed: Crashed;

  beforeAll(async () => {
    // PGlite: the child must own the embedded database, so the parent opens it only after the crash.
    // pg: the database is migrated first (the child, like `start --no-migrate`, does not migrate).
    t = backend === "pglite" ? await prepareTestDatabase(backend) : await openTestStore(backend);
    crashed = await runAndKill({ DATABASE_URL: t.url, DATA_DIR: t.dataDir, WRITER_NAME: "gw-crash" });
    // PGlite: the lock file names the killed pid; this open must take it over.
    store = backend === "pglite" ? await openStore({ dataDir: t.dataDir }) : (t as TestStore).store;
  }, 60_000);
  afterAll(async () => {
    if (backend === "pglite") await store.close();
    await t.cleanup();
  });

  it("everything the killed process acknowledged is in the database", async () => {
    const ids = await store.db
      .selectFrom("exchanges")
      .select("id")
      .where("chain_id", "=", crashed.chainId)
      .execute();
    expect(ids.map((r) => r.id).sort()).toEqual([...crashed.ids].sort());
  });

  it("the next writer of the same name marks open exchanges incomplete and the open session ended", async () => {
    const w = await store.createWriter({ writerName: "gw-crash" });
    await w.recovered;
    const responses = await store.db
      .selectFrom("exchange_responses")
      .select(["exchange_id", "outcome", "error_code"])
      .execute();
    responses.sort((a, b) => crashed.ids.indexOf(a.exchange_id) - crashed.ids.indexOf(b.exchange_id));
    expect(responses).toEqual([
      { exchange_id: crashed.ids[0], outcome: "completed", error_code: null },
      { exchange_id: crashed.ids[1], outcome: "incomplete", error_code: "gateway_restart" },
      { exchange_id: crashed.ids[2], outcome: "incomplete", error_code: "gateway_restart" },
    ]);
    const end = await store.db.selectFrom("session_ends").selectAll().executeTakeFirstOrThrow();
    expect(end).toMatchObject({
      session_id: crashed.sessionId,
      close_reason: "gateway_restart",
      exchange_count: 3,
      chain_id: w.chainId,
    });
    const close = await store.db
      .selectFrom("chain_closes")
      .selectAll()
      .where("closed_chain_id", "=", crashed.chainId)
      .executeTakeFirstOrThrow();
    expect(close).toMatchObject({ reason: "recovered", last_seq: "5", chain_id: w.chainId });
    await w.close();
    const report = await store.verify();
    expect(report.ok).toBe(true);
    expect(report.chains.find((c) => c.chainId === crashed.chainId)).toMatchObject({
      rows: 6,
      closed: "recovered",
    });
  });

  it("a later start finds nothing left to recover", async () => {
    const w = await store.createWriter({ writerName: "gw-crash" });
    await w.recovered;
    await w.close();
    const n = await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM exchange_responses WHERE outcome = 'incomplete'`.execute(store.db);
    expect(n.rows[0]?.n).toBe(2);
  });

  it("verify notices rows cut from the tail of a recovered chain", async () => {
    await store.db.transaction().execute(async (trx) => {
      await sql`SET LOCAL session_replication_role = replica`.execute(trx);
      await sql`DELETE FROM exchange_responses WHERE chain_id = ${crashed.chainId}`.execute(trx);
    });
    const report = await store.verify();
    expect(report.chains.find((c) => c.chainId === crashed.chainId)?.problem).toMatchObject({
      kind: "truncated_tail",
      seq: 5,
    });
  });
});
