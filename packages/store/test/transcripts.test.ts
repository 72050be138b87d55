import { backends } from "@copilot-audit/testkit";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ExchangeTail, listSessions, sessionTranscript, type TailEvent } from "../src/index.js";
import { type AuditFixture, fillThroughGateway } from "./gateway-fixture.js";

describe.each(await backends())("sessions and transcripts through the gateway (%s)", (backend) => {
  let f: AuditFixture;
  let chatSession: string;

  beforeAll(async () => {
    f = await fillThroughGateway(backend);
    const row = await f.db.store.db
      .selectFrom("audit_exchanges")
      .select("session_id")
      .where("client_request_id", "=", "alice-chat-1")
      .executeTakeFirstOrThrow();
    chatSession = row.session_id as string;
  });
  afterAll(async () => {
    await f?.close();
  });

  it("lists sessions newest first, filtered by user, host, client and mode", async () => {
    const db = f.db.store.db;
    const all = await listSessions(db);
    expect(all.length).toBeGreaterThanOrEqual(6);
    const opened = all.map((s) => s.openedAt.getTime());
    expect(opened).toEqual([...opened].sort((a, b) => b - a));
    const alice = await listSessions(db, { user: "alice", mode: "intercept" });
    expect(new Set(alice.map((s) => s.userSubject))).toEqual(new Set(["alice"]));
    expect(new Set(alice.map((s) => s.targetHost))).toEqual(
      new Set(["api.github.com", "api.githubcopilot.com", "copilot-proxy.githubusercontent.com"]),
    );
    const chat = alice.find((s) => s.sessionId === chatSession);
    expect(chat).toMatchObject({
      exchangesRecorded: 4,
      findings: 2,
      clientAddress: "127.0.0.1",
      userGroups: ["dev"],
    });
    expect(
      (await listSessions(db, { host: "copilot-proxy.githubusercontent.com" })).map((s) => s.userSubject),
    ).toEqual(["alice"]);
    expect(await listSessions(db, { client: "10.9.9.9" })).toEqual([]);
    expect((await listSessions(db, { limit: 2 })).length).toBe(2);
  });

  it("a transcript lists the exchanges in wire order, with headers, masked bodies, findings and timings", async () => {
    const t = await sessionTranscript(f.db.store.db, chatSession);
    expect(t.session).toMatchObject({
      sessionId: chatSession,
      userSubject: "alice",
      targetHost: "api.githubcopilot.com",
    });
    expect(t.exchanges.map((e) => e.clientRequestId)).toEqual(f.aliceWireOrder);
    expect(t.exchanges.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    const [first, second, third, fourth] = t.exchanges;
    expect(first).toMatchObject({
      method: "POST",
      url: "https://api.githubcopilot.com/chat/completions",
      endpointKind: "chat",
      model: "gpt-4o-mini",
      status: 200,
      outcome: "completed",
      findings: [],
    });
    expect(first?.requestHeaders["content-type"]).toBe("application/json");
    expect(first?.ttfbMs).not.toBeNull();
    expect(first?.durationMs).not.toBeNull();
    expect(first?.responseBody?.text).toContain("data: ");
    expect(second?.requestBody.text).toContain("[REDACTED:aws-access-key-id]");
    expect(second?.requestBody.text).not.toContain(f.secrets.alicePrompt);
    expect(second?.findings).toMatchObject([
      {
        direction: "request",
        ruleId: "aws-access-key-id",
        action: "masked",
        fingerprint: f.db.store.fingerprint(f.secrets.alicePrompt),
      },
    ]);
    expect(third?.completionText).toBe("use this: [REDACTED:github-pat] and go");
    expect(third?.findings.map((x) => [x.direction, x.ruleId])).toEqual([["response", "github-pat"]]);
    expect(fourth).toMatchObject({ status: 429, outcome: "completed" });
    for (const e of t.exchanges) expect(JSON.stringify(e)).not.toContain(f.secrets.aliceCompletion);
  });

  it("resolves a unique id prefix, and says clearly when it cannot", async () => {
    const t = await sessionTranscript(f.db.store.db, chatSession.slice(0, 13).toUpperCase());
    expect(t.session.sessionId).toBe(chatSession);
    await expect(sessionTranscript(f.db.store.db, "ffffffff-0000")).rejects.toMatchObject({
      code: "query_invalid",
    });
    await expect(sessionTranscript(f.db.store.db, "x; drop table")).rejects.toMatchObject({
      code: "query_invalid",
    });
  });

  it("tail: the last exchanges first, then new ones as they are recorded, each once", async () => {
    const tail = new ExchangeTail(f.db.store.db, { initial: 3 });
    const first = await tail.poll();
    expect(first.filter((e) => e.event === "request")).toHaveLength(3);
    expect(await tail.poll()).toEqual([]);
    await f.chat("tail-1", "one more question");
    await f.chat("tail-2", "and another");
    const seen: TailEvent[] = [];
    await vi.waitFor(
      async () => {
        seen.push(...(await tail.poll()));
        expect(seen.filter((e) => e.event === "response").map((e) => e.exchange.exchangeId)).toHaveLength(2);
      },
      { timeout: 10_000, interval: 100 },
    );
    const ids = seen.filter((e) => e.event === "request").map((e) => e.exchange.promptExcerpt);
    expect(ids).toEqual(["one more question", "and another"]);
    expect(seen.find((e) => e.event === "response")?.exchange).toMatchObject({
      userSubject: "alice",
      status: 200,
    });
    expect(await tail.poll()).toEqual([]);
    const bobOnly = new ExchangeTail(f.db.store.db, { user: "bob", initial: 100 });
    expect(new Set((await bobOnly.poll()).map((e) => e.exchange.userSubject))).toEqual(new Set(["bob"]));
  });
});
