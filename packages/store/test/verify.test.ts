import { backends } from "@copilot-audit/testkit";
import { type Kysely, sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { normalizeRow } from "../src/canonical.js";
import { Chain } from "../src/chain.js";
import { createFingerprinter } from "../src/fingerprint.js";
import { gapReason, gapSignature } from "../src/gaps.js";
import type { AuditWriter, Database } from "../src/index.js";
import { openTestStore, requestRecord, responseRecord, type TestStore, uuid } from "./helpers.js";

/** Runs statements as a superuser with triggers off (session_replication_role = replica): a tampering DBA. */
async function asTamperer(db: Kysely<Database>, statements: ReturnType<typeof sql>[]): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`SET LOCAL session_replication_role = replica`.execute(trx);
    for (const st of statements) await st.execute(trx);
  });
}

describe.each(await backends())("verify on %s", (backend) => {
  let t: TestStore;
  let w: AuditWriter;
  const exchanges: string[] = [];

  beforeAll(async () => {
    t = await openTestStore(backend);
    w = await t.store.createWriter({ writerName: "verify-test" });
    const sessionId = uuid();
    await w.sessionOpened({
      id: sessionId,
      clientAddress: "10.0.0.1",
      clientPort: 40000,
      targetHost: "api.githubcopilot.com",
      targetPort: 443,
      mode: "intercept",
    });
    for (let i = 0; i < 6; i++) {
      const id = uuid();
      exchanges.push(id);
      await w.requestStarted(
        requestRecord(id, {
          sessionId,
          sessionSeq: i + 1,
          findings:
            i === 2
              ? [
                  {
                    ruleId: "aws",
                    location: "$.prompt",
                    offset: 1,
                    length: 20,
                    action: "masked",
                    secret: "AKIA...",
                  },
                ]
              : [],
        }),
      );
      await w.responseFinished(responseRecord(id, { body: Buffer.from([0xff, 0x00, 0xfe, i]) }));
    }
    await w.sessionClosed({
      sessionId,
      bytesFromClient: 1,
      bytesToClient: 2,
      closeReason: "client_closed",
      exchangeCount: 6,
    });
    await w.close();
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it("reports OK with per-chain counts", async () => {
    const r = await t.store.verify();
    expect(r.ok).toBe(true);
    expect(r.firstProblem).toBeNull();
    const c = r.chains.find((x) => x.chainId === w.chainId);
    // genesis + session + 6 requests + 1 finding + 6 responses + session end + clean close
    expect(c).toMatchObject({
      rows: 17,
      firstSeq: 0,
      lastSeq: 16,
      closed: "clean",
      ok: true,
      writerName: "verify-test",
    });
    expect(c?.rowsByTable).toEqual({
      chains: 1,
      sessions: 1,
      exchanges: 6,
      findings: 1,
      exchange_responses: 6,
      session_ends: 1,
      chain_closes: 1,
    });
  });

  it("detects a row altered by a superuser with triggers disabled", async () => {
    const id = exchanges[3] as string;
    await asTamperer(t.store.db, [sql`UPDATE exchanges SET path = '/innocent' WHERE id = ${id}`]);
    const r = await t.store.verify();
    expect(r.ok).toBe(false);
    expect(r.firstProblem).toMatchObject({
      chainId: w.chainId,
      kind: "hash_mismatch",
      table: "exchanges",
      rowId: id,
    });
    await asTamperer(t.store.db, [sql`UPDATE exchanges SET path = '/chat/completions' WHERE id = ${id}`]);
    expect((await t.store.verify()).ok).toBe(true);
  });

  it("detects an altered body (bytes) and an altered jsonb header", async () => {
    const id = exchanges[1] as string;
    await asTamperer(t.store.db, [
      sql`UPDATE exchange_responses SET body_bytes = '\\x00'::bytea WHERE exchange_id = ${id}`,
    ]);
    expect((await t.store.verify()).firstProblem).toMatchObject({
      kind: "hash_mismatch",
      table: "exchange_responses",
      rowId: id,
    });
    await asTamperer(t.store.db, [
      sql`UPDATE exchange_responses SET body_bytes = ${Buffer.from([0xff, 0x00, 0xfe, 1])} WHERE exchange_id = ${id}`,
    ]);
    expect((await t.store.verify()).ok).toBe(true);
    await asTamperer(t.store.db, [
      sql`UPDATE exchanges SET headers = headers || '{"x-extra":"1"}'::jsonb WHERE id = ${id}`,
    ]);
    expect((await t.store.verify()).firstProblem).toMatchObject({
      kind: "hash_mismatch",
      table: "exchanges",
      rowId: id,
    });
    await asTamperer(t.store.db, [sql`UPDATE exchanges SET headers = headers - 'x-extra' WHERE id = ${id}`]);
    expect((await t.store.verify()).ok).toBe(true);
  });

  it("detects a deleted row as a missing seq", async () => {
    const id = exchanges[4] as string;
    const row = await t.store.db
      .selectFrom("exchange_responses")
      .selectAll()
      .where("exchange_id", "=", id)
      .executeTakeFirstOrThrow();
    await asTamperer(t.store.db, [sql`DELETE FROM exchange_responses WHERE exchange_id = ${id}`]);
    const r = await t.store.verify();
    expect(r.firstProblem).toMatchObject({ chainId: w.chainId, kind: "missing_seq", seq: Number(row.seq) });
    await t.store.db.insertInto("exchange_responses").values(row).execute();
    expect((await t.store.verify()).ok).toBe(true);
  });

  it("detects a forked link (a second row with the same seq)", async () => {
    const id = exchanges[2] as string;
    const forkId = uuid();
    const row = await t.store.db
      .selectFrom("exchanges")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    await t.store.db
      .insertInto("exchanges")
      .values({ ...row, id: forkId, requested_at: new Date(row.requested_at.getTime() + 1) })
      .execute();
    const r = await t.store.verify();
    expect(r.firstProblem).toMatchObject({ kind: "duplicate_seq", seq: Number(row.seq) });
    await asTamperer(t.store.db, [sql`DELETE FROM exchanges WHERE id = ${forkId}`]);
    expect((await t.store.verify()).ok).toBe(true);
  });

  it("detects reordered rows (two seqs swapped)", async () => {
    const a = await t.store.db
      .selectFrom("exchanges")
      .select(["id", "seq"])
      .where("id", "=", exchanges[0] as string)
      .executeTakeFirstOrThrow();
    const b = await t.store.db
      .selectFrom("exchanges")
      .select(["id", "seq"])
      .where("id", "=", exchanges[5] as string)
      .executeTakeFirstOrThrow();
    const swap = (x: typeof a, y: typeof a) => [
      sql`UPDATE exchanges SET seq = -1 WHERE id = ${x.id}`,
      sql`UPDATE exchanges SET seq = ${x.seq}::bigint WHERE id = ${y.id}`,
      sql`UPDATE exchanges SET seq = ${y.seq}::bigint WHERE id = ${x.id}`,
    ];
    await asTamperer(t.store.db, swap(a, b));
    const r = await t.store.verify();
    expect(r.ok).toBe(false);
    expect(["prev_hash_mismatch", "hash_mismatch"]).toContain(r.firstProblem?.kind);
    expect(r.firstProblem?.seq).toBe(Number(a.seq));
    await asTamperer(t.store.db, swap({ id: a.id, seq: b.seq }, { id: b.id, seq: a.seq }));
    expect((await t.store.verify()).ok).toBe(true);
  });

  describe("declared gaps (the retention extension point)", () => {
    /**
     * A retention-like writer chain (genesis + one chain_gaps row) declaring [from, to] of `w`'s chain removed,
     * signed with the store's fingerprint key (or, with `signedBy`, another key).
     */
    async function declareGap(
      from: string,
      to: string,
      lastHash: string,
      signedBy: (s: string) => string = (s) => t.store.fingerprint(s),
    ) {
      const chain = new Chain(uuid());
      const runId = uuid();
      const signature = gapSignature(signedBy, {
        gapChainId: w.chainId,
        fromSeq: from,
        toSeq: to,
        lastHash,
        runId,
      });
      const genesis = chain.append({
        table: "chains",
        row: normalizeRow("chains", { writer_name: "retention", host: "h", pid: 1, started_at: new Date() }),
      });
      const gap = chain.append({
        table: "chain_gaps",
        row: normalizeRow("chain_gaps", {
          gap_chain_id: w.chainId,
          from_seq: from,
          to_seq: to,
          last_hash: lastHash,
          reason: gapReason(runId, signature),
          declared_at: new Date(),
        }),
      });
      await t.store.db
        .insertInto("chains")
        .values(genesis.row as never)
        .execute();
      await t.store.db
        .insertInto("chain_gaps")
        .values(gap.row as never)
        .execute();
      return { chainId: chain.chainId, seq: 1 };
    }

    it("a verified declaration excuses exactly its range; a tampered or forged one does not", async () => {
      const rows = await t.store.db
        .selectFrom("exchange_responses")
        .selectAll()
        .where("chain_id", "=", w.chainId)
        .orderBy("seq")
        .execute();
      const victim = rows[0];
      if (!victim) throw new Error("no rows");
      await asTamperer(t.store.db, [
        sql`DELETE FROM exchange_responses WHERE exchange_id = ${victim.exchange_id}`,
      ]);
      expect((await t.store.verify()).firstProblem?.kind).toBe("missing_seq");

      const decl = await declareGap(victim.seq, victim.seq, victim.hash);
      expect((await t.store.verify()).firstProblem).toBeNull();

      // A declaration in a verified chain, but signed with another key (anyone can start a chain): no excuse.
      await asTamperer(t.store.db, [
        sql`DELETE FROM chain_gaps`,
        sql`DELETE FROM chains WHERE chain_id = ${decl.chainId}`,
      ]);
      const otherKey = createFingerprinter(new Uint8Array(32).fill(7));
      const forgedChain = await declareGap(victim.seq, victim.seq, victim.hash, otherKey);
      const forged = await t.store.verify();
      expect(forged.chains.find((c) => c.chainId === forgedChain.chainId)?.ok).toBe(true);
      expect(forged.chains.find((c) => c.chainId === w.chainId)?.problem).toMatchObject({
        kind: "missing_seq",
        seq: Number(victim.seq),
      });
      expect(forged.chains.find((c) => c.chainId === w.chainId)?.problem?.message).toContain("not signed");
      await asTamperer(t.store.db, [
        sql`DELETE FROM chain_gaps`,
        sql`DELETE FROM chains WHERE chain_id = ${forgedChain.chainId}`,
      ]);
      const decl2 = await declareGap(victim.seq, victim.seq, victim.hash);
      const excused = await t.store.verify();
      expect(excused.ok).toBe(true);
      expect(excused.chains.find((c) => c.chainId === w.chainId)?.gaps).toEqual([
        {
          fromSeq: Number(victim.seq),
          toSeq: Number(victim.seq),
          runId: expect.any(String),
          declaredBy: { chainId: decl2.chainId, seq: 1 },
        },
      ]);

      // An intruder edits the declaration: its own chain breaks, so the gap is no longer excused.
      await asTamperer(t.store.db, [
        sql`UPDATE chain_gaps SET declared_at = now() - interval '1 day' WHERE chain_id = ${decl2.chainId}`,
      ]);
      const r = await t.store.verify();
      expect(r.chains.find((c) => c.chainId === decl2.chainId)?.problem?.kind).toBe("hash_mismatch");
      expect(r.chains.find((c) => c.chainId === w.chainId)?.problem).toMatchObject({
        kind: "missing_seq",
        seq: Number(victim.seq),
      });
      await asTamperer(t.store.db, [
        sql`DELETE FROM chain_gaps`,
        sql`DELETE FROM chains WHERE chain_id = ${decl2.chainId}`,
      ]);

      // A forged declaration that is not part of any verified chain does not count either.
      await t.store.db
        .insertInto("chain_gaps")
        .values({
          gap_chain_id: w.chainId,
          from_seq: victim.seq,
          to_seq: victim.seq,
          last_hash: victim.hash,
          reason: "forged",
          declared_at: new Date(),
          chain_id: uuid(),
          seq: 1,
          prev_hash: "0".repeat(64),
          hash: "0".repeat(64),
        })
        .execute();
      expect((await t.store.verify()).chains.find((c) => c.chainId === w.chainId)?.problem?.kind).toBe(
        "missing_seq",
      );
      await asTamperer(t.store.db, [sql`DELETE FROM chain_gaps`]);

      await t.store.db.insertInto("exchange_responses").values(victim).execute();
      expect((await t.store.verify()).ok).toBe(true);
    });
  });

  it("verifies from `since` on (a chain starts at its first row at or after it)", async () => {
    expect((await t.store.verify({ since: new Date(Date.now() + 3600_000) })).chains).toEqual([]);
    const r = await t.store.verify({ since: new Date(0), pageSize: 10 });
    expect(r.ok).toBe(true);
    expect(r.chains.find((c) => c.chainId === w.chainId)?.rows).toBe(17);
  });

  it("awkward values (NUL, lone surrogates, unicode keys, empty arrays, max ints) still verify", async () => {
    const w = await t.store.createWriter({ writerName: "canonical" });
    await w.requestStarted(
      requestRecord(uuid(), {
        path: "/p?q=\u0000\uD800é😀",
        port: 65535,
        sessionSeq: 2147483647,
        headers: { "X-Ünïcode": "v\uDC00", "x-multi": ["a", "b"], "x-empty": "" },
        body: "text with NUL \u0000 goes to bytes",
        promptText: "\uD83D",
        identity: { groups: [], email: "" },
        model: "",
      }),
    );
    await w.sessionClosed({
      sessionId: uuid(),
      bytesFromClient: 2 ** 52,
      bytesToClient: 0,
      closeReason: "x",
      exchangeCount: 0,
    });
    await w.close();
    const r = await t.store.verify();
    expect(r.firstProblem).toBeNull();
    expect(r.ok).toBe(true);
  });
});
