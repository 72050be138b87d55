import { backends } from "@copilot-audit/testkit";
import { type Kysely, sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { activityReport, type Database, exposureReport, secretsReport, usersReport } from "../src/index.js";
import { type AuditFixture, fillThroughGateway } from "./gateway-fixture.js";

/** Runs `statement` as copilot_audit_reader (SET LOCAL ROLE in a transaction that is rolled back). */
async function asReader<T>(db: Kysely<Database>, statement: ReturnType<typeof sql<T>>) {
  try {
    const rows = await db.transaction().execute(async (trx) => {
      await sql`SET LOCAL ROLE copilot_audit_reader`.execute(trx);
      const r = await statement.execute(trx);
      throw Object.assign(new Error("rollback"), { rows: r.rows });
    });
    return { rows, error: null };
  } catch (e) {
    const err = e as Error & { rows?: T[] };
    return err.message === "rollback" ? { rows: err.rows ?? [], error: null } : { rows: [], error: err };
  }
}

describe.each(await backends())("reports on a database filled through the gateway (%s)", (backend) => {
  let f: AuditFixture;
  const since = new Date(Date.now() - 3600_000);

  beforeAll(async () => {
    f = await fillThroughGateway(backend);
  });
  afterAll(async () => {
    await f?.close();
  });

  it("activity: one row per user and UTC day, with counts by kind, outcome and secrets", async () => {
    const rows = await activityReport(f.db.store.db, { since });
    const today = new Date().toISOString().slice(0, 10);
    expect(rows.map((r) => [r.day, r.userSubject])).toEqual([
      [today, "alice"],
      [today, "bob"],
    ]);
    expect(rows[0]).toMatchObject({
      userEmail: "alice@example.com",
      exchanges: 6, // token exchange, 4 chats, 1 completion
      completions: 1,
      chats: 4,
      refused: 0,
      failed: 1, // the 429
      findings: 2, // AWS key in a prompt, GitHub token in a completion
      findingsExposed: 0,
      models: ["gpt-41-copilot", "gpt-4o-mini"],
    });
    expect(rows[1]).toMatchObject({
      userEmail: "Bob@Example.com",
      exchanges: 3,
      chats: 1,
      refused: 1, // the Host mismatch
      findings: 1,
      findingsExposed: 1, // report mode: it went to GitHub in clear
    });
    expect(rows[0]?.requestBytes).toBeGreaterThan(0);
    expect(rows[0]?.firstRequestAt.getTime()).toBeGreaterThanOrEqual(since.getTime());
  });

  it("activity agrees with the audit_daily_activity view", async () => {
    const view = await f.db.store.db
      .selectFrom("audit_daily_activity")
      .select([
        sql<string>`day::text`.as("day"),
        "user_subject",
        "exchanges",
        "refused",
        "failed",
        "findings",
      ])
      .orderBy("user_subject")
      .execute();
    const report = await activityReport(f.db.store.db);
    expect(
      view.map((v) => [v.day, v.user_subject, Number(v.exchanges), Number(v.refused), Number(v.failed)]),
    ).toEqual(report.map((r) => [r.day, r.userSubject, r.exchanges, r.refused, r.failed]));
  });

  it("users: one row per user over the period, most active first", async () => {
    const rows = await usersReport(f.db.store.db, { since });
    expect(rows.map((r) => r.userSubject)).toEqual(["alice", "bob"]);
    expect(rows[0]).toMatchObject({
      groups: ["dev"],
      activeDays: 1,
      exchanges: 6,
      clientAddresses: ["127.0.0.1"],
    });
    expect(rows[1]).toMatchObject({ groups: ["dev", "ops"], exchanges: 3, findingsExposed: 1 });
    expect(rows[0]?.sessions).toBeGreaterThanOrEqual(3); // api.github.com, api.githubcopilot.com, copilot-proxy
  });

  it("secrets: every finding in time order, with who, direction, rule and whether it went through", async () => {
    const rows = await secretsReport(f.db.store.db, { since });
    expect(rows.map((r) => [r.userSubject, r.direction, r.ruleId, r.action, r.exposed])).toEqual([
      ["alice", "request", "aws-access-key-id", "masked", false],
      ["alice", "response", "github-pat", "masked", false],
      ["bob", "request", "github-pat", "reported", true],
    ]);
    expect(rows[0]?.fingerprint).toBe(f.db.store.fingerprint(f.secrets.alicePrompt));
    expect(rows[2]).toMatchObject({
      host: "api.githubcopilot.com",
      endpointKind: "chat",
      model: "gpt-4o-mini",
    });
  });

  it("filters by user (subject, or email in any case) and by time", async () => {
    const db = f.db.store.db;
    expect((await secretsReport(db, { user: "bob@example.com" })).map((r) => r.userSubject)).toEqual(["bob"]);
    expect((await activityReport(db, { user: "alice" })).map((r) => r.userSubject)).toEqual(["alice"]);
    expect(await usersReport(db, { until: since })).toEqual([]);
    expect(await activityReport(db, { since: new Date(Date.now() + 60_000) })).toEqual([]);
  });

  it("exposure: finds each secret by its value — who, when, direction, masked or not — never printing it", async () => {
    const { secrets, tokens } = f;
    const r = await exposureReport(f.db.store.db, f.db.store.fingerprint, [
      secrets.alicePrompt,
      secrets.aliceCompletion,
      secrets.bobExposed,
      `token ${secrets.githubOauth}`,
      secrets.copilotToken,
      "never-seen-anywhere-0123456789",
    ]);
    const bySecret = (i: number) => r.hits.filter((h) => h.secret === i);
    expect(
      bySecret(1).map((h) => [h.source, h.direction, h.masked, h.action, h.userSubject, h.location]),
    ).toEqual([["finding", "request", true, "masked", "alice", "$.messages[0].content"]]);
    expect(bySecret(2).map((h) => [h.source, h.direction, h.masked, h.action, h.ruleId])).toEqual([
      ["finding", "response", true, "masked", "github-pat"],
    ]);
    expect(bySecret(3).map((h) => [h.source, h.direction, h.masked, h.action, h.userEmail])).toEqual([
      ["finding", "request", false, "reported", "Bob@Example.com"],
    ]);
    expect(
      bySecret(4).map((h) => [h.source, h.direction, h.location, h.action, h.host, h.endpointKind]),
    ).toEqual([["header", "request", "authorization", "forwarded", "api.github.com", "token"]]);
    expect(bySecret(5).map((h) => [h.source, h.direction, h.location, h.action])).toEqual([
      ["token-response", "response", "$.token", "delivered"],
    ]);
    expect(bySecret(6)).toEqual([]);
    expect(r.fingerprints[0]).toBe(f.db.store.fingerprint(secrets.alicePrompt));
    const text = JSON.stringify(r);
    for (const s of Object.values(secrets)) expect(text).not.toContain(s);

    // The proxy credential: every session alice opened with it.
    const cred = await exposureReport(f.db.store.db, f.db.store.fingerprint, [tokens.alice]);
    expect(cred.hits.length).toBeGreaterThanOrEqual(3);
    expect(new Set(cred.hits.map((h) => [h.source, h.action, h.masked, h.userSubject].join()))).toEqual(
      new Set(["proxy-credential,consumed,true,alice"]),
    );
  });

  it("exposure refuses an empty secret", async () => {
    await expect(exposureReport(f.db.store.db, f.db.store.fingerprint, [""])).rejects.toMatchObject({
      code: "query_invalid",
    });
  });

  describe("the read-only role copilot_audit_reader", () => {
    const views = [
      "audit_exchanges",
      "audit_sessions",
      "audit_findings",
      "audit_daily_activity",
      "audit_chain_rows",
      "audit_chains",
      "audit_chain_gaps",
      "audit_retention_runs",
      "exchange_log",
    ];

    it("reads every auditor view", async () => {
      for (const v of views) {
        const r = await asReader(
          f.db.store.db,
          sql<{ n: string }>`SELECT count(*)::text AS n FROM ${sql.table(v)}`,
        );
        expect(r.error, v).toBeNull();
        if (!["audit_chain_gaps", "audit_retention_runs"].includes(v))
          expect(Number(r.rows[0]?.n), v).toBeGreaterThan(0);
      }
      const r = await asReader(
        f.db.store.db,
        sql<{ user_subject: string }>`SELECT DISTINCT user_subject FROM audit_exchanges ORDER BY 1`,
      );
      expect(r.rows.map((x) => x.user_subject)).toEqual(["alice", "bob"]);
    });

    it("cannot read the raw tables", async () => {
      for (const t of [
        "exchanges",
        "exchange_responses",
        "findings",
        "sessions",
        "chains",
        "chain_gaps",
        "retention_runs",
      ]) {
        const r = await asReader(f.db.store.db, sql`SELECT 1 FROM ${sql.table(t)} LIMIT 1`);
        expect(r.error?.message, t).toMatch(/permission denied/);
      }
    });

    it("cannot write, not even through a view", async () => {
      const writes = [
        sql`INSERT INTO exchanges (id) VALUES (gen_random_uuid())`,
        sql`DELETE FROM audit_retention_runs`,
        sql`UPDATE audit_retention_runs SET reason = 'x'`,
        sql`CREATE TABLE reader_was_here (x int)`,
      ];
      for (const w of writes) {
        const r = await asReader(f.db.store.db, w);
        expect(r.error?.message).toMatch(/permission denied/);
      }
    });
  });
});
