import { backends } from "@copilot-audit/testkit";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditWriter } from "../src/index.js";
import { openTestStore, requestRecord, responseRecord, type TestStore, uuid } from "./helpers.js";

describe.each(await backends())("AuditWriter on %s", (backend) => {
  let t: TestStore;
  let w: AuditWriter;

  beforeAll(async () => {
    t = await openTestStore(backend);
    w = await t.store.createWriter({ writerName: `writer-test-${backend}` });
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it("registers its chain (seq 0) in chains", async () => {
    const row = await t.store.db
      .selectFrom("chains")
      .selectAll()
      .where("chain_id", "=", w.chainId)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ writer_name: `writer-test-${backend}`, seq: "0", pid: process.pid });
    expect(row.prev_hash).toBe("0".repeat(64));
  });

  it("records a session, an exchange with findings, its response and the session end", async () => {
    const sessionId = uuid();
    const exchangeId = uuid();
    await w.sessionOpened({
      id: sessionId,
      clientAddress: "127.0.0.1",
      clientPort: 50000,
      targetHost: "api.githubcopilot.com",
      targetPort: 443,
      mode: "intercept",
      sni: "api.githubcopilot.com",
      identity: { issuer: "https://idp", subject: "alice", email: "a@example.com", groups: ["dev", "sec"] },
    });
    await w.requestStarted(
      requestRecord(exchangeId, {
        sessionId,
        identity: { subject: "alice", groups: ["dev"] },
        promptText: "hello",
        findings: [
          {
            ruleId: "github-pat",
            location: "$.messages[0].content",
            offset: 6,
            length: 40,
            action: "masked",
            secret: "ghp_x",
          },
        ],
      }),
    );
    await w.responseFinished(
      responseRecord(exchangeId, { respondedAt: new Date(), completionText: "hi there" }),
    );
    await w.sessionClosed({
      sessionId,
      bytesFromClient: 1234,
      bytesToClient: 5678,
      closeReason: "client_closed",
      exchangeCount: 1,
    });

    const log = await t.store.db
      .selectFrom("exchange_log")
      .selectAll()
      .where("id", "=", exchangeId)
      .executeTakeFirstOrThrow();
    expect(log).toMatchObject({
      method: "POST",
      host: "api.githubcopilot.com",
      path: "/chat/completions",
      endpoint_kind: "chat",
      model: "gpt-4o-mini",
      client_request_id: `req-${exchangeId}`,
      status: 200,
      outcome: "completed",
      prompt_text: "hello",
      completion_text: "hi there",
      identity_subject: "alice",
      session_id: sessionId,
    });
    const ex = await t.store.db
      .selectFrom("exchanges")
      .selectAll()
      .where("id", "=", exchangeId)
      .executeTakeFirstOrThrow();
    expect(ex.identity_groups).toEqual(["dev"]);
    expect(ex.body_text).toContain(`hello ${exchangeId}`);
    const finding = await t.store.db
      .selectFrom("findings")
      .selectAll()
      .where("exchange_id", "=", exchangeId)
      .executeTakeFirstOrThrow();
    expect(finding).toMatchObject({
      direction: "request",
      rule_id: "github-pat",
      offset: 6,
      length: 40,
      action: "masked",
    });
    expect(finding.fingerprint).toBe(t.store.fingerprint("ghp_x"));
    const end = await t.store.db
      .selectFrom("session_ends")
      .selectAll()
      .where("session_id", "=", sessionId)
      .executeTakeFirstOrThrow();
    expect(end).toMatchObject({
      bytes_from_client: "1234",
      bytes_to_client: "5678",
      close_reason: "client_closed",
      exchange_count: 1,
    });
  });

  it("chains every row: seq has no gap across tables and verify is OK", async () => {
    const seqs: number[] = [];
    for (const table of [
      "chains",
      "sessions",
      "exchanges",
      "findings",
      "exchange_responses",
      "session_ends",
    ] as const) {
      const rows = await t.store.db
        .selectFrom(table)
        .select("seq")
        .where("chain_id", "=", w.chainId)
        .execute();
      seqs.push(...rows.map((r) => Number(r.seq)));
    }
    seqs.sort((a, b) => a - b);
    expect(seqs).toEqual(seqs.map((_, i) => i));
    const report = await t.store.verify();
    expect(report.ok).toBe(true);
    const mine = report.chains.find((c) => c.chainId === w.chainId);
    expect(mine?.rows).toBe(seqs.length);
  });

  it("group commit: 64 concurrent requests share fewer commits, and each is stored when it resolves", async () => {
    const before = w.stats().commits;
    const ids = Array.from({ length: 64 }, () => uuid());
    const seenAtResolve = await Promise.all(
      ids.map((id) =>
        w.requestStarted(requestRecord(id)).then(async () => {
          const r = await t.store.db
            .selectFrom("exchanges")
            .select("id")
            .where("id", "=", id)
            .executeTakeFirst();
          return r?.id;
        }),
      ),
    );
    expect(seenAtResolve).toEqual(ids);
    const commits = w.stats().commits - before;
    expect(commits).toBeGreaterThanOrEqual(1);
    expect(commits).toBeLessThan(ids.length);
  });

  it("at concurrency 1 every record commits on its own (no waiting for company)", async () => {
    const before = w.stats().commits;
    for (let i = 0; i < 5; i++) await w.requestStarted(requestRecord(uuid()));
    expect(w.stats().commits - before).toBe(5);
  });

  it("rejects an invalid record synchronously-before-queueing with record_invalid", async () => {
    const err = await w.requestStarted(requestRecord("not-a-uuid")).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "record_invalid" });
    const err2 = await w
      .responseFinished(responseRecord(uuid(), { outcome: "exploded" as never }))
      .catch((e: unknown) => e);
    expect(err2).toMatchObject({ code: "record_invalid" });
    expect((await t.store.verify()).ok).toBe(true);
  });

  it("two writers on one database keep two chains, both verify", async () => {
    const w2 = await t.store.createWriter({ writerName: `writer-test-${backend}-2` });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? w : w2).requestStarted(requestRecord(uuid()))),
    );
    await w2.close();
    const report = await t.store.verify();
    expect(report.ok).toBe(true);
    const ids = report.chains.map((c) => c.chainId);
    expect(ids).toContain(w.chainId);
    expect(ids).toContain(w2.chainId);
    expect(report.chains.find((c) => c.chainId === w2.chainId)?.closed).toBe("clean");
  });

  it("health reports the database up and nothing queued", () => {
    expect(w.health()).toEqual({ database: "up", spooledRows: 0, queued: 0, lastError: null });
  });

  it("close writes a clean chain close and refuses later records", async () => {
    const w3 = await t.store.createWriter({ writerName: `writer-test-${backend}-3` });
    await w3.requestStarted(requestRecord(uuid()));
    await w3.close();
    const close = await t.store.db
      .selectFrom("chain_closes")
      .selectAll()
      .where("closed_chain_id", "=", w3.chainId)
      .executeTakeFirstOrThrow();
    expect(close).toMatchObject({ reason: "clean", last_seq: "1", seq: "2", chain_id: w3.chainId });
    await expect(w3.requestStarted(requestRecord(uuid()))).rejects.toMatchObject({ code: "writer_closed" });
    const n = await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM exchanges WHERE chain_id = ${w3.chainId}`.execute(t.store.db);
    expect(n.rows[0]?.n).toBe(1);
  });
});
