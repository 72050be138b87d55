import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { ApprovalEvent, ApprovalRequest } from "@copilot-audit/store";
import { afterEach, describe, expect, it } from "vitest";
import { ApprovalWebhook, webhookText } from "../src/approval-webhook.js";

const request = (over: Partial<ApprovalRequest> = {}): ApprovalRequest => ({
  id: "R-7Q2K9D",
  issuer: "https://idp.example.com",
  subject: "alice",
  email: "alice@example.com",
  groups: ["contractors"],
  reason: "ticket SEC-1",
  status: "pending",
  requestedAt: new Date("2026-11-24T10:00:00Z"),
  defaultTtlSeconds: 28800,
  decidedAt: null,
  decidedBy: null,
  decisionNote: null,
  ttlSeconds: null,
  expiresAt: null,
  revokedAt: null,
  revokedBy: null,
  changeSeq: "1",
  ...over,
});
const event = (e: ApprovalEvent["event"], over: Partial<ApprovalRequest> = {}): ApprovalEvent => ({
  event: e,
  request: request(over),
  actor: { kind: "approver", name: "bob@example.com" },
  at: new Date("2026-11-24T10:05:00Z"),
});

let server: Server | null = null;
afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = null;
});

/** A receiver answering the given statuses in turn (then 200). */
async function receiver(statuses: number[]) {
  const bodies: Array<Record<string, unknown>> = [];
  let n = 0;
  server = createServer((req, res) => {
    let b = "";
    req.on("data", (d) => {
      b += d;
    });
    req.on("end", () => {
      const status = statuses[n++] ?? 200;
      if (status === 200) bodies.push(JSON.parse(b) as Record<string, unknown>);
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server?.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/secret-path-T000/B000`,
    bodies,
    calls: () => n,
  };
}

function memoryLogger() {
  const lines: Array<{ obj: Record<string, unknown>; msg: string }> = [];
  return {
    lines,
    info: (obj: object, msg: string) => lines.push({ obj: obj as Record<string, unknown>, msg }),
    warn: (obj: object, msg: string) => lines.push({ obj: obj as Record<string, unknown>, msg }),
  };
}

describe("approval webhook", () => {
  it("writes a Slack-compatible text for every event", () => {
    expect(webhookText(event("requested"))).toBe(
      'copilot-audit: alice@example.com asks for Copilot access — request R-7Q2K9D ("ticket SEC-1"). Approve with `copilot-audit approvals grant R-7Q2K9D` or deny with `copilot-audit approvals deny R-7Q2K9D`.',
    );
    expect(
      webhookText(
        event("granted", {
          status: "granted",
          ttlSeconds: 16200,
          expiresAt: new Date("2026-11-24T14:35:00Z"),
          decisionNote: "ok",
        }),
      ),
    ).toBe(
      "copilot-audit: request R-7Q2K9D of alice@example.com granted by bob@example.com for 4h30m (until 2026-11-24T14:35:00.000Z): ok",
    );
    expect(webhookText(event("denied", { decisionNote: "no" }))).toBe(
      "copilot-audit: request R-7Q2K9D of alice@example.com denied by bob@example.com: no",
    );
    expect(webhookText(event("revoked"))).toContain("revoked by bob@example.com");
    expect(webhookText(event("expired", { email: null }))).toBe(
      "copilot-audit: Copilot access of alice (approval R-7Q2K9D) expired",
    );
    expect(webhookText(event("reason"))).toBe(
      'copilot-audit: alice@example.com gave a reason for request R-7Q2K9D: "ticket SEC-1"',
    );
  });

  it("retries a failed delivery with backoff, and logs the receiver's host, never its URL", async () => {
    const r = await receiver([500, 503]);
    const log = memoryLogger();
    const hook = new ApprovalWebhook({ url: r.url, logger: log, retryDelayMs: 10, source: "gw1" });
    hook.notify(event("requested"));
    expect(hook.stats.pending).toBe(1);
    await hook.flush(5_000);
    expect(r.calls()).toBe(3);
    expect(hook.stats).toEqual({ delivered: 1, failed: 0, pending: 0 });
    expect(r.bodies[0]).toMatchObject({
      event: "requested",
      gateway: "gw1",
      actor: { kind: "approver", name: "bob@example.com" },
      request: { id: "R-7Q2K9D", subject: "alice", status: "pending", reason: "ticket SEC-1" },
    });
    expect(log.lines.map((l) => [l.msg, l.obj.problem, l.obj.attempt])).toEqual([
      ["approval webhook: delivery failed; retrying", "HTTP 500", 1],
      ["approval webhook: delivery failed; retrying", "HTTP 503", 2],
    ]);
    expect(JSON.stringify(log.lines)).not.toContain("secret-path");
    expect(log.lines[0]?.obj.host).toBe(new URL(r.url).host);
  });

  it("gives up after maxAttempts, and an unreachable receiver never blocks notify()", async () => {
    const r = await receiver([500, 500, 500, 500]);
    const log = memoryLogger();
    const hook = new ApprovalWebhook({ url: r.url, logger: log, retryDelayMs: 5, maxAttempts: 3 });
    hook.notify(event("denied"));
    await hook.flush(5_000);
    expect(r.calls()).toBe(3);
    expect(hook.stats).toEqual({ delivered: 0, failed: 1, pending: 0 });
    expect(log.lines.at(-1)?.msg).toBe("approval webhook: delivery failed; giving up");
    // notify() returns synchronously; the delivery runs in the background.
    const dead = new ApprovalWebhook({ url: "http://127.0.0.1:1/hook", retryDelayMs: 60_000 });
    expect(dead.notify(event("requested"))).toBeUndefined();
    expect(dead.stats.pending).toBe(1);
    dead.close();
    await dead.flush(5_000);
    expect(dead.stats).toEqual({ delivered: 0, failed: 1, pending: 0 });
  });

  it("refuses a URL that is not http(s)", () => {
    expect(() => new ApprovalWebhook({ url: "ftp://example.com/x" })).toThrow(/http/);
  });
});
