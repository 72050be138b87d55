import { createHash } from "node:crypto";
import { backends } from "@copilot-audit/testkit";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditWriter } from "../src/index.js";
import { openTestStore, requestRecord, responseRecord, type TestStore, uuid } from "./helpers.js";

const sha = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");

const SECRETS = {
  copilotToken:
    "tid=0123456789abcdef;exp=1767225600;sku=monthly_subscriber;proxy-ep=proxy.individual.githubcopilot.com",
  githubToken: "gho_16C7e42F292c6912E7710c838347Ae178B4a",
  proxyJwt: "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLW9mLXRoZS1qd3Q",
  cookie: "user_session=QWxhZGRpbjpvcGVuIHNlc2FtZQ",
  setCookie: "logged_in=yes-VERYSECRETSETCOOKIE; Path=/; HttpOnly",
  finding: "AKIAIOSFODNN7SECRETX",
  identityToken: "eyJraWQiOiJpZC10b2tlbiJ9.eyJzdWIiOiJib2IifQ.aWRlbnRpdHktc2lnbmF0dXJl",
};
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

  it("lanes: records spread over several chains (an exchange's rows stay together), all verify", async () => {
    const wl = await t.store.createWriter({ writerName: `writer-test-${backend}-lanes`, lanes: 2 });
    expect(wl.chainIds).toHaveLength(2);
    expect(wl.chainId).toBe(wl.chainIds[0]);
    const ids = Array.from({ length: 40 }, () => uuid());
    await Promise.all(
      ids.map((id) =>
        wl.requestStarted(requestRecord(id)).then(() => wl.responseFinished(responseRecord(id))),
      ),
    );
    await wl.close();
    const rows = await t.store.db
      .selectFrom("exchanges as e")
      .innerJoin("exchange_responses as r", "r.exchange_id", "e.id")
      .select(["e.chain_id as req", "r.chain_id as res"])
      .where("e.id", "in", ids)
      .execute();
    expect(rows).toHaveLength(40);
    for (const r of rows) expect(r.res).toBe(r.req);
    expect(new Set(rows.map((r) => r.req))).toEqual(new Set(wl.chainIds));
    const report = await t.store.verify();
    expect(report.ok).toBe(true);
    for (const id of wl.chainIds) expect(report.chains.find((c) => c.chainId === id)?.closed).toBe("clean");
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

  describe("bodies", () => {
    it("stores capped bodies with size, full-body sha256 and truncated flag; verify accepts them", async () => {
      const id = uuid();
      const cap = t.store.bodyCapBytes;
      const reqBody = "é".repeat(cap / 2 + 100); // 2 bytes each: over the cap
      const resBody = Buffer.concat([Buffer.from([0, 1, 2, 255]), Buffer.alloc(cap + 100, 7)]);
      const capture = w.captureBody();
      capture.write(resBody.subarray(0, 50));
      capture.write(resBody.subarray(50));
      await w.requestStarted(requestRecord(id, { body: reqBody }));
      await w.responseFinished(responseRecord(id, { body: capture.finish() }));
      const ex = await t.store.db
        .selectFrom("exchanges")
        .selectAll()
        .where("id", "=", id)
        .executeTakeFirstOrThrow();
      expect(ex).toMatchObject({
        body_text: "é".repeat(cap / 2),
        body_bytes: null,
        body_size: String(Buffer.byteLength(reqBody)),
        body_truncated: true,
        body_sha256: sha(reqBody),
      });
      const r = await t.store.db
        .selectFrom("exchange_responses")
        .selectAll()
        .where("exchange_id", "=", id)
        .executeTakeFirstOrThrow();
      expect(r).toMatchObject({
        body_text: null,
        body_size: String(resBody.length),
        body_truncated: true,
        body_sha256: sha(resBody),
      });
      expect(Buffer.from(r.body_bytes as Uint8Array).equals(resBody.subarray(0, cap))).toBe(true);
      expect((await t.store.verify()).ok).toBe(true);
    });
  });

  describe("no secret at rest", () => {
    beforeAll(async () => {
      const w = await t.store.createWriter({ writerName: "sanitize" });
      const tokenExchange = uuid();
      await w.requestStarted(
        requestRecord(tokenExchange, {
          method: "GET",
          host: "api.github.com",
          path: "/copilot_internal/v2/token",
          endpointKind: "token",
          headers: { authorization: `token ${SECRETS.githubToken}`, cookie: SECRETS.cookie },
          body: null,
          identity: { subject: "bob", token: SECRETS.identityToken },
        }),
      );
      await w.responseFinished(
        responseRecord(tokenExchange, {
          headers: { "set-cookie": [SECRETS.setCookie], "content-type": "application/json" },
          body: JSON.stringify({ token: SECRETS.copilotToken, expires_at: 1767225600, refresh_in: 1500 }),
        }),
      );
      const chat = uuid();
      await w.requestStarted(
        requestRecord(chat, {
          headers: [
            ["Authorization", `Bearer ${SECRETS.copilotToken}`],
            ["Proxy-Authorization", `Bearer ${SECRETS.proxyJwt}`],
            ["Content-Type", "application/json"],
          ],
          findings: [
            {
              ruleId: "aws-access-key",
              location: "$.messages[0].content",
              offset: 0,
              length: 20,
              action: "masked",
              secret: SECRETS.finding,
            },
          ],
        }),
      );
      await w.close();
    });
    it("no raw secret appears in any stored row, while their fingerprints do", async () => {
      const dump: string[] = [];
      for (const table of [
        "chains",
        "chain_closes",
        "sessions",
        "session_ends",
        "exchanges",
        "exchange_responses",
        "findings",
      ]) {
        const rows = await sql<{ r: string }>`SELECT t::text AS r FROM ${sql.table(table)} t`.execute(
          t.store.db,
        );
        dump.push(...rows.rows.map((r) => r.r));
      }
      const all = dump.join("\n");
      expect(all).toContain("/copilot_internal/v2/token");
      for (const [name, secret] of Object.entries(SECRETS)) {
        expect(all.includes(secret), `${name} stored raw`).toBe(false);
      }
      // Decoded body bytes would not be caught by ::text on bytea, so check the text columns hold the fingerprints.
      expect(all).toContain(t.store.fingerprint(SECRETS.copilotToken));
      expect(all).toContain(t.store.fingerprint(SECRETS.githubToken));
      expect(all).toContain(t.store.fingerprint(SECRETS.proxyJwt));
      expect(all).toContain(t.store.fingerprint(SECRETS.cookie));
      expect(all).toContain(t.store.fingerprint(SECRETS.setCookie));
      expect(all).toContain(t.store.fingerprint(SECRETS.finding));
      expect(all).toContain(t.store.fingerprint(SECRETS.identityToken));
    });

    it("the token-exchange response keeps its other fields readable", async () => {
      const r = await t.store.db
        .selectFrom("exchange_responses as r")
        .innerJoin("exchanges as e", "e.id", "r.exchange_id")
        .select(["r.body_text", "r.body_truncated"])
        .where("e.endpoint_kind", "=", "token")
        .executeTakeFirstOrThrow();
      expect(JSON.parse(r.body_text ?? "")).toEqual({
        token: t.store.fingerprint(SECRETS.copilotToken),
        expires_at: 1767225600,
        refresh_in: 1500,
      });
      expect(r.body_truncated).toBe(false);
    });

    it("a finding or identity that claims to be a fingerprint but is not is refused, not stored", async () => {
      const w = await t.store.createWriter({ writerName: "sanitize-2" });
      await expect(
        w.requestStarted(
          requestRecord(uuid(), {
            findings: [
              {
                ruleId: "r",
                location: "$",
                offset: 0,
                length: 1,
                action: "masked",
                fingerprint: SECRETS.finding,
              },
            ],
          }),
        ),
      ).rejects.toMatchObject({ code: "record_invalid" });
      await expect(
        w.requestStarted(requestRecord(uuid(), { identity: { tokenFingerprint: SECRETS.identityToken } })),
      ).rejects.toMatchObject({ code: "record_invalid" });
      // identity's own fingerprint (a plain sha256 hex of the token) is accepted and labelled.
      const id = uuid();
      await w.requestStarted(requestRecord(id, { identity: { tokenFingerprint: "AB".repeat(32) } }));
      const row = await t.store.db
        .selectFrom("exchanges")
        .select("identity_token_fingerprint")
        .where("id", "=", id)
        .executeTakeFirstOrThrow();
      expect(row.identity_token_fingerprint).toBe(`sha256:${"ab".repeat(32)}`);
      await w.close();
    });
  });
});
