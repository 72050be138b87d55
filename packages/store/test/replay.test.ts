import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { backends, startTcpRelay, type TcpRelay } from "@copilot-audit/testkit";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { normalizeRow } from "../src/canonical.js";
import { Chain } from "../src/chain.js";
import { type AuditWriter, openStore, type Store, StoreUnavailableError } from "../src/index.js";
import { requestRows } from "../src/rows.js";
import { SpoolFile, spoolFileName } from "../src/spool.js";
import { openTestStore, requestRecord, responseRecord, type TestStore, uuid } from "./helpers.js";

const SECRET = "gho_ThisIsARawGithubTokenThatMustNeverBeStored";

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
  return Number(r.stdout.toString());
}

async function until(cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

const hasPg = (await backends()).includes("pg");

describe.runIf(hasPg)("database unreachable (pg behind a TCP relay)", () => {
  let t: TestStore;
  let relay: TcpRelay;
  let store: Store;
  let dataDir: string;

  const count = async (table: "exchanges" | "exchange_responses") =>
    Number(
      (await sql<{ n: string }>`SELECT count(*)::text AS n FROM ${sql.table(table)}`.execute(t.store.db))
        .rows[0]?.n,
    );

  beforeAll(async () => {
    t = await openTestStore("pg");
    const u = new URL(t.url as string);
    relay = await startTcpRelay({ host: u.hostname, port: Number(u.port || 5432) });
    dataDir = mkdtempSync(join(tmpdir(), "copilot-audit-relay-"));
    store = await openStore({
      databaseUrl: relay.urlFor(t.url as string),
      dataDir,
      migrate: false,
      connectTimeoutMs: 500,
      queryTimeoutMs: 2_000,
      poolSize: 2,
      fingerprintKey: "11".repeat(32),
    });
  });
  afterAll(async () => {
    relay.restore();
    await store.close();
    await relay.close();
    await t.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("spools while cut, then replays exactly once when restored; replaying the spool again changes nothing", async () => {
    const w = await store.createWriter({ writerName: "relay", probeIntervalMs: 100, commitTimeoutMs: 1_000 });
    const before = Array.from({ length: 5 }, () => uuid());
    for (const id of before) await w.requestStarted(requestRecord(id));
    expect(await count("exchanges")).toBe(5);

    relay.cut();
    const during = Array.from({ length: 20 }, () => uuid());
    await Promise.all(
      during.map((id) =>
        w.requestStarted(requestRecord(id, { headers: { authorization: `token ${SECRET}` } })),
      ),
    );
    await Promise.all(before.map((id) => w.responseFinished(responseRecord(id))));
    expect(w.health()).toMatchObject({ database: "down", spooledRows: 25 });
    expect(w.health().lastError).toBeTruthy();
    expect(await count("exchanges")).toBe(5);

    const spoolDir = join(dataDir, "spool");
    const spoolFile = readdirSync(spoolDir).find((f) => f.includes(w.chainId)) as string;
    const spoolText = readFileSync(join(spoolDir, spoolFile), "utf8");
    expect(spoolText.includes(SECRET)).toBe(false);
    expect(spoolText.split("\n").filter(Boolean)).toHaveLength(25);
    // Keep a copy as if a dead process had left it: replayed again below, it must change nothing.
    const copy = join(spoolDir, spoolFileName(hostname(), deadPid(), uuid()));
    copyFileSync(join(spoolDir, spoolFile), copy);

    relay.restore();
    await until(() => w.health().database === "up" && w.health().spooledRows === 0);
    expect(await count("exchanges")).toBe(25);
    expect(await count("exchange_responses")).toBe(5);
    const ids = await t.store.db.selectFrom("exchanges").select("id").execute();
    expect(new Set(ids.map((r) => r.id))).toEqual(new Set([...before, ...during]));
    expect(w.stats()).toMatchObject({ spooledRowsTotal: 25, replayedRows: 25 });
    expect(readFileSync(join(spoolDir, spoolFile), "utf8")).toBe("");

    await w.requestStarted(requestRecord(uuid()));
    expect(await count("exchanges")).toBe(26);
    await w.close();

    const w2 = await store.createWriter({ writerName: "relay-2" });
    expect(existsSync(copy)).toBe(false);
    expect(w2.stats().replayedRows).toBe(25);
    expect(await count("exchanges")).toBe(26);
    await w2.close();
    const report = await t.store.verify();
    expect(report.firstProblem).toBeNull();
    expect(report.chains.find((c) => c.chainId === w.chainId)?.closed).toBe("clean");
  });

  it("a writer started while the database is down spools from its first row (start --no-migrate)", async () => {
    relay.cut();
    const w = await store.createWriter({ writerName: "born-offline", probeIntervalMs: 100 });
    const id = uuid();
    await w.requestStarted(requestRecord(id));
    expect(w.health()).toMatchObject({ database: "down", spooledRows: 2 }); // genesis + request
    relay.restore();
    await w.recovered; // recovery waits for the database and the replay
    expect(w.health()).toMatchObject({ database: "up", spooledRows: 0 });
    const row = await t.store.db
      .selectFrom("chains")
      .select("seq")
      .where("chain_id", "=", w.chainId)
      .executeTakeFirst();
    expect(row?.seq).toBe("0");
    await w.close();
    expect((await t.store.verify()).firstProblem).toBeNull();
  });

  it("openStore with migrate against an unreachable server fails fast with store_unavailable", async () => {
    relay.cut();
    try {
      await expect(
        openStore({ databaseUrl: relay.urlFor(t.url as string), dataDir, connectTimeoutMs: 500 }),
      ).rejects.toMatchObject({ code: "store_unavailable" });
    } finally {
      relay.restore();
    }
  });

  it("a blackholed connection times out into the spool, and recovers", async () => {
    const w = await store.createWriter({
      writerName: "blackhole",
      probeIntervalMs: 100,
      commitTimeoutMs: 500,
    });
    relay.cut("blackhole");
    const id = uuid();
    await w.requestStarted(requestRecord(id));
    expect(w.health().database).toBe("down");
    relay.restore();
    await until(() => w.health().database === "up" && w.health().spooledRows === 0);
    const row = await t.store.db.selectFrom("exchanges").select("id").where("id", "=", id).executeTakeFirst();
    expect(row?.id).toBe(id);
    await w.close();
    expect((await t.store.verify()).ok).toBe(true);
  });

  it("when neither the database nor the spool can take a record: StoreUnavailableError saying why, and no chain hole", async () => {
    const blocker = join(dataDir, "not-a-dir");
    writeFileSync(blocker, "x");
    const w = await store.createWriter({
      writerName: "nospool",
      spoolDir: join(blocker, "spool"),
      probeIntervalMs: 100,
    });
    await w.requestStarted(requestRecord(uuid()));
    relay.cut();
    // Concurrent records: the first batch fails while others queue behind it (they are chained again).
    const errs = await Promise.all(
      Array.from({ length: 8 }, () => w.requestStarted(requestRecord(uuid())).catch((e: unknown) => e)),
    );
    for (const err of errs) {
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as StoreUnavailableError).code).toBe("store_unavailable");
      expect((err as Error).message).toMatch(
        /database is unreachable .* spool .*not-a-dir\/spool.* cannot be written/,
      );
    }
    expect(w.stats().refusedRecords).toBe(8);
    relay.restore();
    await until(async () => {
      try {
        await w.requestStarted(requestRecord(uuid()));
        return true;
      } catch {
        return false;
      }
    });
    expect(w.health().database).toBe("up");
    await w.close();
    expect((await t.store.verify()).firstProblem).toBeNull();
  });
});

describe.each(await backends())("leftover spool of a dead writer on %s", (backend) => {
  let t: TestStore;

  beforeAll(async () => {
    t = await openTestStore(backend);
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it("is replayed at the next writer start, before recovery marks its open exchanges incomplete", async () => {
    const deadChain = new Chain(uuid());
    const ctx = { fp: t.store.fingerprint, sensitiveHeaders: new Set(["authorization"]), bodyCapBytes: 1024 };
    const exchangeIds = [uuid(), uuid()];
    const rows = [
      deadChain.append({
        table: "chains",
        row: normalizeRow("chains", {
          writer_name: "gw-a",
          host: hostname(),
          pid: deadPid(),
          started_at: new Date(),
        }),
      }),
      ...exchangeIds.flatMap((id) => requestRows(requestRecord(id), ctx).map((p) => deadChain.append(p))),
    ];
    const spoolDir = join(t.dataDir, "spool");
    const leftover = new SpoolFile(spoolDir, spoolFileName(hostname(), deadPid(), deadChain.chainId));
    await leftover.append(rows);
    await leftover.close();

    const w: AuditWriter = await t.store.createWriter({ writerName: "gw-a" });
    await w.recovered;
    expect(readdirSync(spoolDir).filter((f) => f.includes(deadChain.chainId))).toEqual([]);
    const responses = await t.store.db
      .selectFrom("exchange_responses")
      .select(["exchange_id", "outcome", "error_code", "chain_id"])
      .orderBy("seq")
      .execute();
    expect(responses).toEqual(
      exchangeIds.map((id) => ({
        exchange_id: id,
        outcome: "incomplete",
        error_code: "gateway_restart",
        chain_id: w.chainId,
      })),
    );
    await w.close();
    const report = await t.store.verify();
    expect(report.ok).toBe(true);
    expect(report.chains.find((c) => c.chainId === deadChain.chainId)).toMatchObject({
      rows: 3,
      closed: "recovered",
    });
  });
});
