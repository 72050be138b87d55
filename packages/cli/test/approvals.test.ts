/**
 * Just-in-time approvals with real processes (issue 6): `copilot-audit start` children, the CLI as a user runs
 * it (`approvals …` through the API and against the database, `access request`), the fake Copilot upstream,
 * and a local webhook receiver. Two gateways on one PostgreSQL see each other's decisions within a second.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type FakeCopilot,
  type FakeIssuer,
  type GatewayProcess,
  proxyAgent,
  runCli,
  spawnGateway,
  startFakeCopilot,
  startFakeIssuer,
} from "@copilot-audit/testkit";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { prepareTestDatabase } from "../../store/test/helpers.js";

type Agent = ReturnType<typeof proxyAgent>;

async function chat(agent: Agent, id: string) {
  const r = await request("https://api.githubcopilot.com/chat/completions", {
    dispatcher: agent,
    method: "POST",
    headers: { "content-type": "application/json", "x-request-id": id },
    body: JSON.stringify({ stream: true, messages: [{ role: "user", content: `prompt ${id}` }] }),
  });
  return {
    status: r.statusCode,
    approval: r.headers["x-copilot-audit-approval"] as string,
    body: await r.body.text(),
  };
}

async function startHook(): Promise<{ server: Server; url: string; events: Array<Record<string, unknown>> }> {
  const events: Array<Record<string, unknown>> = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => {
      body += d;
    });
    req.on("end", () => {
      events.push(JSON.parse(body) as Record<string, unknown>);
      res.end("ok");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, events };
}

function gatewayArgs(dir: string, up: FakeCopilot, extra: string[]): string[] {
  writeFileSync(join(dir, "upstream-ca.pem"), up.caPem);
  return [
    ...up.resolveArgs(),
    "--upstream-ca",
    join(dir, "upstream-ca.pem"),
    "--approval-group",
    "contractors",
    "--approver-group",
    "approvers",
    ...extra,
  ];
}

describe("approvals with the embedded database (one gateway process)", () => {
  let dir: string;
  let db: Awaited<ReturnType<typeof prepareTestDatabase>>;
  let up: FakeCopilot;
  let gw: GatewayProcess;
  let hook: Awaited<ReturnType<typeof startHook>>;
  const data = () => ["--data-dir", db.dataDir];
  const token = async (sub: string, groups: string) =>
    (
      await runCli(["token", "--sub", sub, "--email", `${sub}@example.com`, "--groups", groups, ...data()])
    ).stdout.trim();
  let alice: string;
  let aliceId = "";
  let agent: Agent;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "cli-approvals-"));
    db = await prepareTestDatabase("pglite");
    up = await startFakeCopilot();
    hook = await startHook();
    gw = await spawnGateway([...gatewayArgs(dir, up, ["--approval-webhook", hook.url]), ...data()], {
      cwd: dir,
      timeoutMs: 60_000,
    });
    alice = await token("alice", "contractors");
    writeFileSync(join(dir, "bob.token"), await token("bob", "approvers"));
    agent = proxyAgent({
      proxy: gw.url,
      ca: readFileSync(join(dir, "certs/ca.pem"), "utf8"),
      proxyAuthorization: `Bearer ${alice}`,
    });
  });
  afterAll(async () => {
    await agent?.close();
    await gw?.stop();
    await up?.close();
    await new Promise((r) => hook?.server.close(r));
    await db?.cleanup();
  });

  it("403 with a request id; `access request` adds a reason; an approver grants it through the API", async () => {
    const refused = await chat(agent, "a-1");
    expect(refused.status).toBe(403);
    const id = refused.approval;
    aliceId = id;
    expect(refused.body).toContain(`\`copilot-audit approvals grant ${id}\``);
    // The developer's shell already has the proxy URL with the token in it.
    const asked = await runCli(["access", "request", "--reason", "ticket SEC-1"], {
      env: { HTTPS_PROXY: `http://oidc:${alice}@127.0.0.1:${gw.port}` },
    });
    expect(asked.stderr).toBe("");
    expect(asked.stdout).toBe(
      `request ${id} is pending (reason: ticket SEC-1); an approver must run \`copilot-audit approvals grant ${id}\`\n`,
    );
    const api = ["--gateway", gw.url, "--token-file", join(dir, "bob.token")];
    const listed = await runCli(["approvals", "list", ...api, "--format", "json"]);
    expect(JSON.parse(listed.stdout)).toMatchObject([
      { id, status: "pending", subject: "alice", email: "alice@example.com", reason: "ticket SEC-1" },
    ]);
    // While the gateway owns the embedded database, database mode says how to go through the API.
    const locked = await runCli(["approvals", "grant", id, ...data()]);
    expect(locked.code).toBe(1);
    expect(locked.stderr).toContain("--gateway http://<gateway> --token-file <approver token>");
    // A requester is no approver.
    writeFileSync(join(dir, "alice.token"), alice);
    const self = await runCli([
      "approvals",
      "grant",
      id,
      "--gateway",
      gw.url,
      "--token-file",
      join(dir, "alice.token"),
    ]);
    expect(self.code).toBe(1);
    expect(self.stderr).toBe(
      `copilot-audit: error: deciding request ${id} needs membership of approvers; alice@example.com is not a member\n`,
    );
    const granted = await runCli([
      "approvals",
      "grant",
      id.toLowerCase(),
      "--ttl",
      "4h",
      "--note",
      "ok",
      ...api,
    ]);
    expect(granted.stderr).toBe("");
    expect(granted.stdout).toMatch(
      new RegExp(
        `^granted ${id} to alice@example.com for 4h \\(until \\S+Z\\), via the gateway API at ${gw.url}\\n$`,
      ),
    );
    expect((await chat(agent, "a-2")).status).toBe(200);
    await vi.waitFor(() =>
      expect(hook.events.map((e) => e.event)).toEqual(["requested", "reason", "granted"]),
    );
  });

  it("after the gateway stops, an operator revokes in the database (recorded as the OS user)", async () => {
    const r = { id: aliceId };
    await gw.stop();
    const revoked = await runCli(["approvals", "revoke", r.id, ...data()]);
    expect(revoked.stderr).toBe("");
    expect(revoked.stdout).toMatch(
      /^revoked R-\w{6} of alice@example.com: their next Copilot request is refused, via the database as os:.+@.+\n$/,
    );
    // The auditor's report reads the audit rows (the approvals view), not the operational table.
    const report = await runCli([
      "report",
      "approvals",
      "--user",
      "ALICE@example.com",
      ...data(),
      "--format",
      "json",
    ]);
    expect(JSON.parse(report.stdout)).toMatchObject([
      {
        id: r.id,
        subject: "alice",
        reason: "ticket SEC-1",
        status: "revoked",
        decided_by: "bob@example.com",
        decision_note: "ok",
        ttl_seconds: 14400,
        revoked_by: expect.stringMatching(/^os:/),
      },
    ]);
    const verify = await runCli(["verify", ...data()]);
    expect(verify.code).toBe(0);
  });
});

const pgUrl = process.env.TEST_DATABASE_URL;

describe.skipIf(!pgUrl)("two gateway processes on one PostgreSQL", () => {
  let dir: string;
  let db: Awaited<ReturnType<typeof prepareTestDatabase>>;
  let up: FakeCopilot;
  let fake: FakeIssuer;
  let a: GatewayProcess;
  let b: GatewayProcess;
  const agents: Agent[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "cli-approvals-pg-"));
    db = await prepareTestDatabase("pg");
    up = await startFakeCopilot();
    fake = await startFakeIssuer({ algorithm: "ES256" });
    const common = (name: string) => [
      ...gatewayArgs(dir, up, []),
      "--oidc-issuer",
      fake.issuer,
      "--oidc-audience",
      fake.audience,
      "--database-url",
      db.url as string,
      "--data-dir",
      join(dir, name),
      "--instance-name",
      name,
    ];
    const env = { COPILOT_AUDIT_FINGERPRINT_KEY: "11".repeat(32) };
    a = await spawnGateway(common("gw-a"), { cwd: dir, env, timeoutMs: 60_000 });
    b = await spawnGateway(common("gw-b"), { cwd: dir, env, timeoutMs: 60_000 });
  });
  afterAll(async () => {
    await Promise.all(agents.map((x) => x.close()));
    await a?.stop();
    await b?.stop();
    await up?.close();
    await fake?.close();
    await db?.cleanup();
  });

  const agentFor = async (gw: GatewayProcess, sub: string) => {
    const t = await fake.mint({ sub, email: `${sub}@example.com`, groups: ["contractors"] });
    const ag = proxyAgent({
      proxy: gw.url,
      ca: readFileSync(join(dir, "certs/ca.pem"), "utf8"),
      proxyAuthorization: `Bearer ${t}`,
    });
    agents.push(ag);
    return ag;
  };
  /** Milliseconds until an exchange through `agent` gets `status` (polled every 20 ms, at most 1 s). */
  const within1s = async (agent: Agent, status: number, tag: string) => {
    const t0 = performance.now();
    let n = 0;
    await vi.waitFor(
      async () => {
        expect((await chat(agent, `${tag}-${++n}`)).status).toBe(status);
      },
      { timeout: 1_000, interval: 20 },
    );
    return performance.now() - t0;
  };

  it("a grant made on one replica (API) and a revocation made in the database reach the other within 1 s", async () => {
    const carol = await agentFor(a, "carol");
    const id = (await chat(carol, "c-1")).approval;
    expect(id).toMatch(/^R-/);
    // The same pending request on the other replica: no second request.
    const viaB = await agentFor(b, "carol");
    expect((await chat(viaB, "c-2")).approval).toBe(id);
    const bobToken = await fake.mint({ sub: "bob", email: "bob@example.com", groups: ["approvers"] });
    const g = await request(`${b.url}/api/approvals/${id}/grant`, {
      method: "POST",
      headers: { authorization: `Bearer ${bobToken}`, "content-type": "application/json" },
      body: JSON.stringify({ ttl: "1h" }),
    });
    expect(g.statusCode).toBe(200);
    await g.body.dump();
    const grantSeenMs = await within1s(carol, 200, "c-after-grant");
    // An operator revokes directly in the database while both gateways run.
    const revoked = await runCli([
      "approvals",
      "revoke",
      id,
      "--database-url",
      db.url as string,
      "--data-dir",
      join(dir, "cli"),
    ]);
    expect(revoked.stderr).toBe("");
    const revokeSeenMs = await within1s(carol, 403, "c-after-revoke");
    // For the report: how long the other replica took to see each decision (after the deciding call returned).
    process.stderr.write(
      `approvals: grant seen on the other replica after ${grantSeenMs.toFixed(0)} ms, revocation after ${revokeSeenMs.toFixed(0)} ms\n`,
    );
    const report = await runCli([
      "verify",
      "--database-url",
      db.url as string,
      "--data-dir",
      join(dir, "cli"),
    ]);
    expect(report.code).toBe(0);
  });
});
