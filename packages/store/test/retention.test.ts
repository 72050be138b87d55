import { backends } from "@copilot-audit/testkit";
import { sql } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AuditWriter,
  applyRetention,
  type RetentionProgress,
  type RetentionReport,
} from "../src/index.js";
import { listPartitions } from "../src/partitions.js";
import { openTestStore, type TestStore } from "./helpers.js";
import { createMonth, fillMonth, monthsAgo, startOf, ym } from "./old-months.js";

// Old months are fabricated honestly (old-months.ts): partitions created the way the store creates them,
// rows written through the audit writer with old timestamps.

const DAY = 86_400_000;
const TABLES = ["sessions", "session_ends", "exchanges", "exchange_responses", "findings"];

describe.each(await backends())("retention on %s", (backend) => {
  let t: TestStore;
  const rows = { m9: 0, m8a: 0, m8b: 0, m7: 0, m2: 0, now: 0 };
  let chainA: string;
  let chainB: string;
  let c: AuditWriter;

  beforeAll(async () => {
    t = await openTestStore(backend);
    // Month -9 has no partition: its rows land in DEFAULT, which retention can never drop.
    for (const k of [8, 7, 2]) await createMonth(t.store.db, k);
    const a = await t.store.createWriter({ writerName: "gateway-a" });
    const b = await t.store.createWriter({ writerName: "gateway-b" });
    chainA = a.chainId;
    chainB = b.chainId;
    rows.m9 = await fillMonth(a, monthsAgo(9), 2, "m9");
    rows.m8a = await fillMonth(a, monthsAgo(8), 3, "m8");
    rows.m8b = await fillMonth(b, monthsAgo(8), 2, "m8b");
    rows.m7 = await fillMonth(a, monthsAgo(7), 3, "m7");
    rows.m2 = await fillMonth(a, monthsAgo(2), 2, "m2");
    rows.now = await fillMonth(a, new Date(Date.now() - 60_000), 1, "now");
    // gateway-c stays open, and every row it wrote is in month -8: after retention its chain is its genesis
    // followed by a declared gap, until it closes.
    c = await t.store.createWriter({ writerName: "gateway-c" });
    rows.m8b += await fillMonth(c, monthsAgo(8), 1, "m8c");
    await b.close(); // gateway-b's chain: genesis, month -8, clean close
    await a.close();
    expect((await t.store.verify()).ok).toBe(true);
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  const partitionNames = async () => (await listPartitions(t.store.db)).map((p) => p.partition).sort();
  const monthPartitions = (k: number) => TABLES.map((x) => `${x}_${ym(monthsAgo(k))}`).sort();
  const olderThan = (horizon: Date) => Date.now() - horizon.getTime();

  it("refuses a horizon under one day", async () => {
    await expect(
      applyRetention(t.store, { olderThanMs: DAY - 1, olderThan: "23h", signedOffBy: "ops" }),
    ).rejects.toMatchObject({ code: "query_invalid" });
  });

  it("dry run: lists exactly the months past the horizon and changes nothing", async () => {
    const before = await partitionNames();
    const r = await applyRetention(t.store, {
      olderThanMs: 180 * DAY,
      olderThan: "180d",
      dryRun: true,
      signedOffBy: "ops",
    });
    expect(r.partitions.map((p) => p.partition).sort()).toEqual(
      [...monthPartitions(8), ...monthPartitions(7)].sort(),
    );
    expect(r.rowsRemoved).toBe(rows.m8a + rows.m8b + rows.m7);
    expect(r.rowsByTable).toEqual({
      sessions: 4,
      session_ends: 4,
      exchanges: 9,
      exchange_responses: 9,
      findings: 9,
    });
    expect(r.keptInDefault).toBe(rows.m9);
    expect(r.runId).toBeNull();
    expect(await partitionNames()).toEqual(before);
    expect(
      Number(
        (await sql<{ n: string }>`SELECT count(*) AS n FROM retention_runs`.execute(t.store.db)).rows[0]?.n,
      ),
    ).toBe(0);
  });

  it("refuses to drop rows that do not verify, and drops nothing", async () => {
    const victim = await t.store.db
      .selectFrom("exchanges")
      .select(["id", "path"])
      .where("requested_at", ">=", startOf(monthsAgo(8)))
      .where("requested_at", "<", startOf(monthsAgo(7)))
      .where("chain_id", "=", chainA)
      .executeTakeFirstOrThrow();
    const tamper = (path: string) =>
      t.store.db.transaction().execute(async (trx) => {
        await sql`SET LOCAL session_replication_role = replica`.execute(trx);
        await sql`UPDATE exchanges SET path = ${path} WHERE id = ${victim.id}`.execute(trx);
      });
    await tamper("/tampered");
    const before = await partitionNames();
    await expect(
      applyRetention(t.store, { olderThanMs: 180 * DAY, olderThan: "180d", signedOffBy: "ops" }),
    ).rejects.toMatchObject({ code: "retention_refused" });
    expect(await partitionNames()).toEqual(before);
    await tamper(victim.path);
    expect((await t.store.verify()).ok).toBe(true);
  });

  it.runIf(backend === "pg")(
    "gives up, dropping nothing, when it cannot lock the partitions in time",
    async () => {
      const other = new pg.Client({ connectionString: t.url });
      await other.connect();
      try {
        await other.query("BEGIN");
        // A writer stuck in a transaction on an old partition (e.g. replaying a spool): its lock conflicts.
        await other.query(`LOCK TABLE exchanges_${ym(monthsAgo(8))} IN ROW EXCLUSIVE MODE`);
        const before = await partitionNames();
        await expect(
          applyRetention(t.store, {
            olderThanMs: 180 * DAY,
            olderThan: "180d",
            signedOffBy: "ops",
            lockTimeoutMs: 300,
          }),
        ).rejects.toMatchObject({
          code: "retention_refused",
          message: expect.stringMatching(/could not lock/),
        });
        expect(await partitionNames()).toEqual(before);
        // A long report reading an old partition: the SHARE lock is granted, but the DROP cannot get in.
        await other.query("ROLLBACK");
        await other.query("BEGIN");
        await other.query(`SELECT count(*) FROM exchanges_${ym(monthsAgo(8))}`);
        await expect(
          applyRetention(t.store, {
            olderThanMs: 180 * DAY,
            olderThan: "180d",
            signedOffBy: "ops",
            lockTimeoutMs: 300,
          }),
        ).rejects.toMatchObject({
          code: "retention_refused",
          message: expect.stringMatching(/could not lock exchanges to drop/),
        });
        expect(await partitionNames()).toEqual(before);
        expect(await t.store.db.selectFrom("retention_runs").select("id").execute()).toEqual([]);
      } finally {
        await other.query("ROLLBACK").catch(() => {});
        await other.end();
      }
    },
  );

  let first: RetentionReport;
  let second: RetentionReport;
  const progress: RetentionProgress[] = [];

  it("drops exactly the due partitions, in two runs, and verify passes across the declared gaps", async () => {
    // Run 1: only month -8 is past this horizon (just after month -7 began).
    first = await applyRetention(t.store, {
      olderThanMs: olderThan(new Date(startOf(monthsAgo(7)).getTime() + DAY)),
      olderThan: "custom",
      signedOffBy: "alice-ops",
      reason: "TICKET-1",
      onProgress: (p) => progress.push(p),
    });
    expect(first.partitions.map((p) => p.partition).sort()).toEqual(monthPartitions(8));
    expect(first.rowsRemoved).toBe(rows.m8a + rows.m8b);
    expect(first.gaps.map((g) => g.chainId).sort()).toEqual([chainA, chainB, c.chainId].sort());
    expect(first.runId).not.toBeNull();
    expect(progress.map((p) => p.step)).toEqual(expect.arrayContaining(["verify", "count", "drop"]));
    expect(progress.at(-1)).toEqual({ step: "drop", done: 5, total: 5 });

    const afterFirst = await t.store.verify();
    expect(afterFirst.ok).toBe(true);
    expect(afterFirst.chains.find((c) => c.chainId === chainB)?.gaps).toHaveLength(1);

    // Run 2: 180 days drops month -7 too; chain A now has two consecutive declared gaps.
    second = await applyRetention(t.store, {
      olderThanMs: 180 * DAY,
      olderThan: "180d",
      signedOffBy: "bob-ops",
    });
    expect(second.partitions.map((p) => p.partition).sort()).toEqual(monthPartitions(7));
    expect(second.rowsRemoved).toBe(rows.m7);
    expect(second.keptInDefault).toBe(rows.m9);

    const names = await partitionNames();
    for (const p of [...monthPartitions(8), ...monthPartitions(7)]) expect(names).not.toContain(p);
    for (const p of [
      ...monthPartitions(2),
      ...TABLES.map((x) => `${x}_${ym(new Date())}`),
      ...TABLES.map((x) => `${x}_default`),
    ])
      expect(names).toContain(p);

    const v = await t.store.verify();
    expect(v.firstProblem).toBeNull();
    const a = v.chains.find((c) => c.chainId === chainA);
    expect(a?.gaps.map((g) => g.runId)).toEqual([first.runId, second.runId]);
    expect((a?.gaps[0]?.toSeq ?? 0) + 1).toBe(a?.gaps[1]?.fromSeq);
    expect(a?.gaps[1]?.toSeq).toBe(second.gaps.find((g) => g.chainId === chainA)?.toSeq);
    // Every row that is left is still there, and verify counted exactly those.
    const left = rows.m9 + rows.m2 + rows.now;
    const byTable = a?.rowsByTable ?? {};
    expect(
      (byTable.sessions ?? 0) +
        (byTable.exchanges ?? 0) +
        (byTable.findings ?? 0) +
        (byTable.exchange_responses ?? 0) +
        (byTable.session_ends ?? 0),
    ).toBe(left);
  });

  it("records each run as a chained, signed-off row the auditor views show", async () => {
    const runs = await t.store.db.selectFrom("audit_retention_runs").selectAll().orderBy("run_at").execute();
    expect(runs).toHaveLength(2);
    expect(runs[0]).toMatchObject({
      run_id: first.runId,
      signed_off_by: "alice-ops",
      older_than: "custom",
      reason: "TICKET-1",
      partitions: first.partitions.map((p) => p.partition),
      gaps_declared: 3,
      rows_by_table: { sessions: 3, session_ends: 3, exchanges: 6, exchange_responses: 6, findings: 6 },
    });
    expect(Number(runs[0]?.rows_removed)).toBe(rows.m8a + rows.m8b);
    expect(new Date(runs[0]?.range_from as Date).toISOString()).toBe(startOf(monthsAgo(8)).toISOString());
    expect(new Date(runs[0]?.range_to as Date).toISOString()).toBe(startOf(monthsAgo(7)).toISOString());
    // The chain heads as verified just before the drop: chain B ended with its clean close.
    const heads = runs[0]?.chain_heads as Record<string, { seq: number; hash: string; ok: boolean }>;
    expect(heads[chainB]).toMatchObject({ seq: 3 * 2 + 2 + 1, ok: true });
    expect(runs[1]).toMatchObject({
      signed_off_by: "bob-ops",
      older_than: "180d",
      reason: null,
      gaps_declared: 1,
    });
    const gaps = await t.store.db.selectFrom("audit_chain_gaps").selectAll().execute();
    expect(gaps).toHaveLength(4);
    for (const g of gaps)
      expect(g.reason).toMatch(/^retention run [0-9a-f-]{36} signature hmac-sha256:[0-9a-f]{64}$/);
    const chains = await t.store.db
      .selectFrom("audit_chains")
      .selectAll()
      .where("writer_name", "=", "copilot-audit retention")
      .execute();
    expect(chains.map((c) => c.close_reason)).toEqual(["clean", "clean"]);
  });

  it("the auditor views no longer show the dropped months; the kept ones are intact", async () => {
    const prompts = await t.store.db.selectFrom("audit_exchanges").select("prompt_text").execute();
    const tags = new Set(prompts.map((p) => p.prompt_text?.split(" ")[0]));
    expect([...tags].sort()).toEqual(["m2", "m9", "now"]);
  });

  it("a chain whose every row after its genesis was dropped verifies, open and after its clean close", async () => {
    let v = await t.store.verify();
    expect(v.ok).toBe(true);
    expect(v.chains.find((x) => x.chainId === c.chainId)).toMatchObject({
      rows: 1,
      lastSeq: 0,
      gaps: [{ fromSeq: 1, toSeq: 5, runId: first.runId }],
    });
    await c.close();
    v = await t.store.verify();
    expect(v.ok).toBe(true);
    expect(v.chains.find((x) => x.chainId === c.chainId)).toMatchObject({
      rows: 2,
      lastSeq: 6,
      closed: "clean",
    });
  });

  it("with nothing past the horizon it does nothing and records nothing", async () => {
    const r = await applyRetention(t.store, {
      olderThanMs: 180 * DAY,
      olderThan: "180d",
      signedOffBy: "ops",
    });
    expect(r.partitions).toEqual([]);
    expect(r.runId).toBeNull();
    expect(await t.store.db.selectFrom("retention_runs").select("id").execute()).toHaveLength(2);
  });

  it("a declaration with a tampered signature no longer excuses its gap", async () => {
    await t.store.db.transaction().execute(async (trx) => {
      await sql`SET LOCAL session_replication_role = replica`.execute(trx);
      await sql`UPDATE chain_gaps SET reason = replace(reason, 'signature hmac-sha256:', 'signature hmac-sha256:0')
                WHERE gap_chain_id = ${chainB}`.execute(trx);
    });
    const v = await t.store.verify();
    expect(v.ok).toBe(false);
    expect(v.chains.find((c) => c.chainId === chainB)?.problem?.kind).toBe("missing_seq");
  });
});
