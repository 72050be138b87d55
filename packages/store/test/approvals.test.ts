import { backends } from "@copilot-audit/testkit";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  type ApprovalActor,
  type ApprovalEvent,
  type Approvals,
  type AuditWriter,
  normalizeApprovalId,
  openApprovals,
  openStore,
  type Store,
} from "../src/index.js";
import { openTestStore, type TestStore } from "./helpers.js";

const ISS = "https://idp.example.com";
const bob: ApprovalActor = { kind: "approver", name: "bob@example.com", subject: "bob", issuer: ISS };
const requester = (subject: string, groups = ["contractors"]) => ({
  issuer: ISS,
  subject,
  email: `${subject}@example.com`,
  groups,
});

describe("approval ids", () => {
  it("accept what people type: any case, with or without R-, Crockford look-alikes", () => {
    expect(normalizeApprovalId("r-7q2k9d")).toBe("R-7Q2K9D");
    expect(normalizeApprovalId("7Q2K9D")).toBe("R-7Q2K9D");
    expect(normalizeApprovalId("R-0OIL11")).toBe("R-001111");
    expect(normalizeApprovalId("R-7Q2K")).toBeNull();
    expect(normalizeApprovalId("R-7Q2K9U")).toBeNull();
    expect(normalizeApprovalId("'; drop table x")).toBeNull();
  });
});

describe.each(await backends())("approvals on %s", (backend) => {
  let t: TestStore;
  let writer: AuditWriter;
  let approvals: Approvals;
  const events: ApprovalEvent[] = [];

  beforeAll(async () => {
    t = await openTestStore(backend);
    writer = await t.store.createWriter({ writerName: `approvals-test-${backend}` });
    approvals = await openApprovals({
      store: t.store,
      writer,
      databaseUrl: t.url,
      pollIntervalMs: 50,
      expirySweepMs: 0,
      systemActor: "gateway:test",
      onEvent: (e) => events.push(e),
    });
  });
  afterAll(async () => {
    await approvals?.close();
    await t?.cleanup();
  });

  const eventsOf = (id: string) =>
    t.store.db
      .selectFrom("approval_events")
      .selectAll()
      .where("request_id", "=", id)
      .orderBy("at")
      .orderBy("seq")
      .execute();
  const view = (id: string) =>
    t.store.db.selectFrom("approvals").selectAll().where("id", "=", id).executeTakeFirstOrThrow();

  it("creates one pending request per subject, however many exchanges ask at once", async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, () => approvals.request(requester("alice"), { defaultTtlSeconds: 3600 })),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const id = results[0]?.request.id as string;
    expect(id).toMatch(/^R-[0-9A-Z]{6}$/);
    expect(new Set(results.map((r) => r.request.id))).toEqual(new Set([id]));
    expect(results[0]?.request).toMatchObject({
      status: "pending",
      subject: "alice",
      defaultTtlSeconds: 3600,
    });
    const again = await approvals.request(requester("alice"), { defaultTtlSeconds: 3600 });
    expect(again).toMatchObject({ created: false, request: { id } });
    const rows = await eventsOf(id);
    expect(rows.map((r) => [r.event, r.actor_kind, r.actor, r.subject, r.groups])).toEqual([
      ["requested", "requester", "alice@example.com", "alice", ["contractors"]],
    ]);
    expect(rows[0]?.chain_id).toBe(writer.chainId);
    expect(approvals.lookup(ISS, "alice")).toMatchObject({ id, status: "pending" });
    expect(events.filter((e) => e.request.id === id).map((e) => e.event)).toEqual(["requested"]);
  });

  it("attaches a reason to the pending request (one audit row), and the view shows it", async () => {
    const { request } = await approvals.request(requester("alice"), { defaultTtlSeconds: 3600 });
    const r = await approvals.request(requester("alice"), {
      reason: "  onboarding: TICKET-42  ",
      defaultTtlSeconds: 3600,
    });
    expect(r).toMatchObject({ created: false, request: { id: request.id, reason: "onboarding: TICKET-42" } });
    await approvals.request(requester("alice"), { reason: "onboarding: TICKET-42", defaultTtlSeconds: 3600 });
    expect((await eventsOf(request.id)).map((e) => [e.event, e.reason])).toEqual([
      ["requested", null],
      ["reason", "onboarding: TICKET-42"],
    ]);
    expect(await view(request.id)).toMatchObject({ status: "pending", reason: "onboarding: TICKET-42" });
  });

  it("refuses self-approval, grants for the given TTL, and refuses a second decision", async () => {
    const { request } = await approvals.request(requester("alice"), { defaultTtlSeconds: 3600 });
    const self: ApprovalActor = {
      kind: "approver",
      name: "alice@example.com",
      subject: "alice",
      issuer: ISS,
    };
    await expect(approvals.grant(request.id, self)).rejects.toMatchObject({ code: "self_approval" });
    const before = Date.now();
    const g = await approvals.grant(request.id.toLowerCase(), bob, {
      ttlSeconds: 4 * 3600,
      note: "ok for Q4",
    });
    expect(g).toMatchObject({ status: "granted", decidedBy: "bob@example.com", ttlSeconds: 14400 });
    expect(g.expiresAt?.getTime()).toBeGreaterThanOrEqual(before + 14400_000);
    expect(g.expiresAt?.getTime()).toBeLessThanOrEqual(Date.now() + 14400_000);
    await expect(approvals.grant(request.id, bob)).rejects.toMatchObject({ code: "approval_conflict" });
    await expect(approvals.deny(request.id, bob)).rejects.toMatchObject({ code: "approval_conflict" });
    await expect(approvals.grant("R-ZZZZZZ", bob)).rejects.toMatchObject({ code: "approval_not_found" });
    await expect(approvals.grant("nonsense", bob)).rejects.toMatchObject({ code: "approval_not_found" });
    const last = (await eventsOf(request.id)).at(-1);
    expect(last).toMatchObject({
      event: "granted",
      actor: "bob@example.com",
      actor_kind: "approver",
      actor_subject: "bob",
      note: "ok for Q4",
      ttl_seconds: 14400,
    });
    expect(last?.expires_at?.getTime()).toBe(g.expiresAt?.getTime());
    expect(await view(request.id)).toMatchObject({
      status: "granted",
      decided_by: "bob@example.com",
      decision_note: "ok for Q4",
      ttl_seconds: 14400,
    });
    expect(approvals.lookup(ISS, "alice")).toMatchObject({ id: request.id, status: "granted" });
    // A live grant is returned, not replaced by a new request.
    expect(await approvals.request(requester("alice"), { defaultTtlSeconds: 60 })).toMatchObject({
      created: false,
      request: { id: request.id, status: "granted" },
    });
  });

  it("revokes a live grant; a pending request cannot be revoked, only denied", async () => {
    const { request } = await approvals.request(requester("carol"), { defaultTtlSeconds: 3600 });
    await expect(approvals.revoke(request.id, bob)).rejects.toMatchObject({ code: "approval_conflict" });
    await approvals.grant(request.id, bob);
    const r = await approvals.revoke(request.id, { kind: "operator", name: "os:root@host" });
    expect(r).toMatchObject({ status: "revoked", revokedBy: "os:root@host" });
    expect(await view(request.id)).toMatchObject({ status: "revoked", revoked_by: "os:root@host" });
    expect(approvals.lookup(ISS, "carol")).toMatchObject({ status: "revoked" });
    // After a revocation the next request is a new one.
    const next = await approvals.request(requester("carol"), { defaultTtlSeconds: 3600 });
    expect(next.created).toBe(true);
    const d = await approvals.deny(next.request.id, bob, { note: "not this quarter" });
    expect(d).toMatchObject({ status: "denied", decisionNote: "not this quarter" });
    expect(await view(next.request.id)).toMatchObject({ status: "denied", decided_by: "bob@example.com" });
  });

  it("expires grants: computed at once, marked (with an audit row) by the sweep, by one sweeper only", async () => {
    const { request } = await approvals.request(requester("dave"), { defaultTtlSeconds: 1 });
    await approvals.grant(request.id, bob);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await approvals.get(request.id))?.status).toBe("expired");
    expect(await view(request.id)).toMatchObject({ status: "expired" });
    expect((await approvals.list({ status: ["expired"], user: "dave" })).map((r) => r.id)).toEqual([
      request.id,
    ]);
    const swept = await Promise.all([approvals.sweepExpired(), approvals.sweepExpired()]);
    expect(swept.reduce((a, b) => a + b, 0)).toBe(1);
    expect((await eventsOf(request.id)).map((e) => [e.event, e.actor_kind, e.actor])).toEqual([
      ["requested", "requester", "dave@example.com"],
      ["granted", "approver", "bob@example.com"],
      ["expired", "system", "gateway:test"],
    ]);
    await expect(approvals.revoke(request.id, bob)).rejects.toMatchObject({ code: "approval_conflict" });
    expect((await approvals.request(requester("dave"), { defaultTtlSeconds: 1 })).created).toBe(true);
  });

  it("lists by status and user (subject or email)", async () => {
    const pending = await approvals.list({ status: ["pending"] });
    expect(pending.every((r) => r.status === "pending")).toBe(true);
    expect(pending.map((r) => r.subject)).toEqual(["dave"]);
    expect((await approvals.list({ user: "CAROL@example.com" })).map((r) => r.status)).toEqual([
      "denied",
      "revoked",
    ]);
    expect(await approvals.list({ since: new Date(Date.now() + 60_000) })).toEqual([]);
  });

  it("keeps every approval row in the writer's verified chain", async () => {
    const report = await t.store.verify();
    expect(report.ok).toBe(true);
    const mine = report.chains.find((c) => c.chainId === writer.chainId);
    expect(mine?.rowsByTable.approval_events).toBeGreaterThanOrEqual(9);
  });

  it("undoes a change whose audit row cannot be written", async () => {
    const w2 = await t.store.createWriter({ writerName: `approvals-closed-${backend}` });
    const a2 = await openApprovals({ store: t.store, writer: w2, watch: false });
    await w2.close();
    await expect(a2.request(requester("erin"), { defaultTtlSeconds: 60 })).rejects.toMatchObject({
      code: "writer_closed",
    });
    expect(await approvals.list({ user: "erin" })).toEqual([]);
    const { request } = await approvals.request(requester("erin"), { defaultTtlSeconds: 60 });
    await expect(a2.grant(request.id, bob)).rejects.toMatchObject({ code: "writer_closed" });
    expect((await approvals.get(request.id))?.status).toBe("pending");
    expect(a2.lookup(ISS, "erin")).toBeUndefined();
    expect(a2.status().mode).toBe("off");
    await a2.close();
  });

  it("another process's decision reaches this view quickly (LISTEN/NOTIFY on pg, polling on PGlite)", async () => {
    // A second, independent store on the same database (on PGlite: the same store, the only process).
    let other: Store = t.store;
    if (backend === "pg") other = await openStore({ dataDir: t.dataDir, databaseUrl: t.url, poolSize: 2 });
    const w3 = await other.createWriter({ writerName: `approvals-other-${backend}` });
    const a3 = await openApprovals({ store: other, writer: w3, watch: false });
    try {
      expect(approvals.status()).toMatchObject({ mode: backend === "pg" ? "listen" : "poll" });
      const { request } = await a3.request(requester("frank"), { defaultTtlSeconds: 60 });
      await vi.waitFor(() => expect(approvals.lookup(ISS, "frank")).toMatchObject({ status: "pending" }), {
        timeout: 1000,
        interval: 10,
      });
      await a3.grant(request.id, bob);
      await vi.waitFor(() => expect(approvals.lookup(ISS, "frank")).toMatchObject({ status: "granted" }), {
        timeout: 1000,
        interval: 10,
      });
    } finally {
      await a3.close();
      await w3.close();
      if (other !== t.store) await other.close();
    }
  });
});
