/**
 * Just-in-time approvals through the gateway (issue 6): real requests through the proxy (undici's
 * ProxyAgent), identity from the embedded issuer, decisions through the HTTP API, the store on both
 * backends, and a local webhook receiver.
 */
import { mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AccessPolicy, createAuthenticator, openEmbeddedIssuer } from "@copilot-audit/identity";
import { type Approvals, openApprovals } from "@copilot-audit/store";
import { backends } from "@copilot-audit/testkit";
import { type Dispatcher, request } from "undici";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ApprovalWebhook } from "../../src/approval-webhook.js";
import { type Stack, startStack, testStore } from "../helpers.js";

const policy: AccessPolicy = {
  allowGroups: [],
  approvalGroups: ["contractors"],
  approverGroups: ["approvers"],
};

interface Hook {
  server: Server;
  url: string;
  received: Array<Record<string, unknown>>;
  attempts: number;
}

/** A webhook receiver that fails its first delivery (so the retry is exercised). */
async function startHook(): Promise<Hook> {
  const hook = { received: [], attempts: 0 } as unknown as Hook;
  hook.server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => {
      body += d;
    });
    req.on("end", () => {
      hook.attempts++;
      if (hook.attempts === 1) {
        res.writeHead(500).end();
        return;
      }
      hook.received.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((r) => hook.server.listen(0, "127.0.0.1", r));
  hook.url = `http://127.0.0.1:${(hook.server.address() as AddressInfo).port}/hook`;
  return hook;
}

describe.each(await backends())("just-in-time approvals through the gateway (%s)", (backend) => {
  let db: Awaited<ReturnType<typeof testStore>>;
  let s: Stack;
  let approvals: Approvals;
  let hook: Hook;
  let webhook: ApprovalWebhook;
  const tokens: Record<string, string> = {};
  let n = 0;

  beforeAll(async () => {
    db = await testStore(backend);
    hook = await startHook();
    webhook = new ApprovalWebhook({ url: hook.url, retryDelayMs: 20, source: "test-gw" });
    const issuer = await openEmbeddedIssuer(mkdtempSync(join(tmpdir(), "approvals-issuer-")));
    const people: Array<[string, string[]]> = [
      ["alice", ["contractors"]],
      ["bob", ["approvers"]],
      ["carol", ["approvers", "contractors"]],
      ["dave", ["dev"]],
      ["erin", ["contractors"]],
      ["frank", ["contractors"]],
      ["mallory", ["contractors"]],
    ];
    for (const [sub, groups] of people)
      tokens[sub] = await issuer.mintToken({ sub, email: `${sub}@example.com`, groups });
    approvals = await openApprovals({
      store: db.store,
      writer: db.writer,
      databaseUrl: db.url,
      pollIntervalMs: 50,
      expirySweepMs: 100,
      systemActor: "gateway:test",
      onEvent: (e) => webhook.notify(e),
    });
    s = await startStack(
      {
        auth: {
          authenticator: createAuthenticator({ embedded: issuer }),
          policy,
          passthroughAuth: "required",
          tokenHelp: "Get a token.",
        },
        writer: db.writer,
        stageDeps: { approvals: { approvals, policy, ttlSeconds: 3600 } },
      },
      { allowUpstreamPort: true },
    );
  });
  afterAll(async () => {
    webhook?.close();
    await s?.close();
    await approvals?.close();
    await db?.close();
    await new Promise((r) => hook?.server.close(r));
  });

  const agents = new Map<string, Dispatcher>();
  const agentOf = (who: string) => {
    let a = agents.get(who);
    if (!a) {
      a = s.agent({ proxyAuthorization: `Bearer ${tokens[who]}` });
      agents.set(who, a);
    }
    return a;
  };
  /** One chat exchange through the proxy as `who`. */
  const chat = async (who: string) => {
    const id = `${backend}-${who}-${++n}`;
    const r = await request("https://api.githubcopilot.com/chat/completions", {
      dispatcher: agentOf(who),
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": id },
      body: JSON.stringify({ stream: true, messages: [{ role: "user", content: `hi from ${who}` }] }),
    });
    return { id, status: r.statusCode, headers: r.headers, body: await r.body.text() };
  };
  /** The approvals API on the gateway port. */
  const api = async (who: string | null, method: string, path: string, body?: unknown) => {
    const r = await request(`${s.proxyUrl}${path}`, {
      method: method as "GET" | "POST",
      headers: {
        ...(who ? { authorization: `Bearer ${tokens[who]}` } : {}),
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return {
      status: r.statusCode,
      headers: r.headers,
      json: (await r.body.json()) as Record<string, unknown> & {
        error?: { code: string; message: string };
      },
    };
  };
  const eventsOf = (subject: string) =>
    db.store.db
      .selectFrom("approval_events")
      .select(["request_id", "event", "actor"])
      .where("subject", "=", subject)
      .orderBy("at")
      .execute();
  const sentUpstream = (id: string) => s.upstream.requests.some((r) => r.requestId === id);

  let aliceRequest = "";

  it("refuses the first exchange with 403 naming a new pending request; repeats reuse it, nothing is forwarded", async () => {
    const first = await chat("alice");
    expect(first.status).toBe(403);
    expect(first.headers["x-copilot-audit-error"]).toBe("approval_required");
    aliceRequest = String(first.headers["x-copilot-audit-approval"]);
    expect(aliceRequest).toMatch(/^R-[0-9A-Z]{6}$/);
    expect(first.body).toBe(
      `copilot-audit: Copilot access for alice@example.com needs approval — request ${aliceRequest} is pending; ` +
        `ask an approver to run \`copilot-audit approvals grant ${aliceRequest}\` (or POST /api/approvals/${aliceRequest}/grant on this gateway); ` +
        'add a reason with `copilot-audit access request --reason "…"`\n',
    );
    const again = await Promise.all([chat("alice"), chat("alice"), chat("alice")]);
    for (const r of again) {
      expect(r.status).toBe(403);
      expect(r.headers["x-copilot-audit-approval"]).toBe(aliceRequest);
    }
    expect(await eventsOf("alice")).toEqual([
      { request_id: aliceRequest, event: "requested", actor: "alice@example.com" },
    ]);
    for (const r of [first, ...again]) expect(sentUpstream(r.id)).toBe(false);
    // Each refused exchange is recorded as refused, with the request id.
    await vi.waitFor(async () => {
      const rows = await db.store.db
        .selectFrom("exchanges as e")
        .innerJoin("exchange_responses as r", "r.exchange_id", "e.id")
        .select([
          "e.identity_subject",
          "r.status",
          "r.outcome",
          "r.error_code",
          "r.error_details",
          "r.headers",
        ])
        .where(
          "e.client_request_id",
          "in",
          [first, ...again].map((r) => r.id),
        )
        .execute();
      expect(rows).toHaveLength(4);
      for (const row of rows) {
        expect(row).toMatchObject({
          identity_subject: "alice",
          status: 403,
          outcome: "refused",
          error_code: "approval_required",
        });
        expect(row.error_details).toContain(aliceRequest);
        expect(row.headers?.["x-copilot-audit-approval"]).toBe(aliceRequest);
      }
    });
  });

  it("does not touch users outside the approval groups", async () => {
    expect((await chat("dave")).status).toBe(200);
  });

  it("API: 401 without a token, 403 for a non-approver, 403 for self-approval", async () => {
    const none = await api(null, "POST", `/api/approvals/${aliceRequest}/grant`, {});
    expect(none.status).toBe(401);
    expect(none.headers["www-authenticate"]).toBe('Bearer realm="copilot-audit"');
    expect(none.json.error?.code).toBe("unauthorized");
    const bad = await api(null, "GET", "/api/approvals");
    expect(bad.status).toBe(401);
    const mallory = await api("mallory", "POST", `/api/approvals/${aliceRequest}/grant`, {});
    expect(mallory.status).toBe(403);
    expect(mallory.json.error).toMatchObject({ code: "not_approver" });
    expect(mallory.json.error?.message).toContain("approvers");
    expect((await api("mallory", "GET", `/api/approvals/${aliceRequest}`)).status).toBe(403);
    const own = await api("carol", "POST", "/api/access/request", { reason: "reviewing PR 7" });
    expect(own.status).toBe(201);
    const carolRequest = (own.json.request as { id: string; reason: string }).id;
    expect(own.json.request).toMatchObject({ status: "pending", reason: "reviewing PR 7" });
    const self = await api("carol", "POST", `/api/approvals/${carolRequest}/grant`, {});
    expect(self.status).toBe(403);
    expect(self.json.error?.code).toBe("self_approval");
    expect((await api("bob", "POST", "/api/approvals/R-ZZZZZZ/grant", {})).json.error?.code).toBe(
      "approval_not_found",
    );
    expect((await api("bob", "POST", `/api/approvals/${aliceRequest}/grant`, { ttl: "soon" })).status).toBe(
      400,
    );
    // The requester sees their own requests only; approvers see everyone's.
    const mine = await api("alice", "GET", "/api/approvals");
    expect((mine.json.approvals as Array<{ subject: string }>).map((r) => r.subject)).toEqual(["alice"]);
    const all = await api("bob", "GET", "/api/approvals?status=pending");
    expect((all.json.approvals as Array<{ subject: string }>).map((r) => r.subject).sort()).toEqual([
      "alice",
      "carol",
    ]);
  });

  it("a grant through the API lets the next exchange through; a revocation stops the next one on the same connection", async () => {
    const g = await api("bob", "POST", `/api/approvals/${aliceRequest}/grant`, {
      ttl: "2h",
      note: "Q4 contract",
    });
    expect(g.status).toBe(200);
    expect(g.json).toMatchObject({ status: "granted", decidedBy: "bob@example.com", ttlSeconds: 7200 });
    const ok = await chat("alice");
    expect(ok.status).toBe(200);
    expect(ok.body).toContain("[DONE]");
    expect(sentUpstream(ok.id)).toBe(true);
    const r = await api("bob", "POST", `/api/approvals/${aliceRequest}/revoke`, {});
    expect(r.json).toMatchObject({ status: "revoked", revokedBy: "bob@example.com" });
    const refused = await chat("alice");
    expect(refused.status).toBe(403);
    expect(refused.body).toContain(`was revoked — approval ${aliceRequest} by bob@example.com`);
    // Same keep-alive tunnel: both exchanges belong to one session.
    await vi.waitFor(async () => {
      const rows = await db.store.db
        .selectFrom("exchanges")
        .select(["session_id"])
        .where("client_request_id", "in", [ok.id, refused.id])
        .execute();
      expect(rows).toHaveLength(2);
      expect(rows[0]?.session_id).toBe(rows[1]?.session_id);
    });
  });

  it("a denial is final for that request: no new request until the user asks again", async () => {
    const first = await chat("erin");
    const id = String(first.headers["x-copilot-audit-approval"]);
    const d = await api("bob", "POST", `/api/approvals/${id}/deny`, { note: "not this quarter" });
    expect(d.json).toMatchObject({ status: "denied", decisionNote: "not this quarter" });
    const again = await chat("erin");
    expect(again.status).toBe(403);
    expect(again.body).toContain(`was denied — request ${id} by bob@example.com ("not this quarter")`);
    expect((await eventsOf("erin")).map((e) => e.event)).toEqual(["requested", "denied"]);
    const asked = await api("erin", "POST", "/api/access/request", { reason: "new project" });
    expect(asked.status).toBe(201);
    expect((asked.json.request as { id: string }).id).not.toBe(id);
  });

  it("a grant expires: the next exchange is refused with a new request, and the expiry is recorded", async () => {
    const first = await chat("frank");
    const id = String(first.headers["x-copilot-audit-approval"]);
    expect((await api("bob", "POST", `/api/approvals/${id}/grant`, { ttl: 1 })).status).toBe(200);
    expect((await chat("frank")).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100));
    const after = await chat("frank");
    expect(after.status).toBe(403);
    expect(after.headers["x-copilot-audit-approval"]).not.toBe(id);
    await vi.waitFor(async () =>
      expect((await eventsOf("frank")).map((e) => e.event)).toEqual([
        "requested",
        "granted",
        "expired",
        "requested",
      ]),
    );
  });

  it("the webhook received every request and decision (after retrying a failed delivery)", async () => {
    await vi.waitFor(() => {
      const seen = hook.received.map((b) => `${b.event}:${(b.request as { subject: string }).subject}`);
      for (const e of [
        "requested:alice",
        "granted:alice",
        "revoked:alice",
        "requested:erin",
        "denied:erin",
        "requested:frank",
        "expired:frank",
        "requested:carol",
      ])
        expect(seen).toContain(e);
    });
    expect(hook.attempts).toBeGreaterThan(hook.received.length);
    const granted = hook.received.find((b) => b.event === "granted") as Record<string, unknown>;
    expect(granted).toMatchObject({
      gateway: "test-gw",
      actor: { kind: "approver", name: "bob@example.com" },
    });
    expect(granted.text).toBe(
      `copilot-audit: request ${aliceRequest} of alice@example.com granted by bob@example.com for 2h ` +
        `(until ${(granted.request as { expiresAt: string }).expiresAt}): Q4 contract`,
    );
    expect(JSON.stringify(hook.received)).not.toContain(tokens.alice as string);
  });

  it("every approval row verifies in the gateway's chain; /healthz reports the view", async () => {
    const report = await db.store.verify();
    expect(report.ok).toBe(true);
    const h = (await (await request(`${s.proxyUrl}/healthz`)).body.json()) as {
      approvals: { mode: string; subjects: number };
    };
    expect(h.approvals).toMatchObject({ mode: backend === "pg" ? "listen" : "poll" });
    expect(h.approvals.subjects).toBeGreaterThanOrEqual(4);
  });
});
