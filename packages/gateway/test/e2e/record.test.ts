import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAuthenticator, openEmbeddedIssuer } from "@copilot-audit/identity";
import { createDetector, githubTokenChecksum } from "@copilot-audit/redact";
import { backends, connectThroughProxy } from "@copilot-audit/testkit";
import { sql } from "kysely";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type Stack, startStack, testStore } from "../helpers.js";

const B62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
function githubToken(seed: number): string {
  let r = "";
  let x = seed * 7919 + 17;
  for (let i = 0; i < 30; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    r += B62[x % 62];
  }
  return `ghp_${r}${githubTokenChecksum(r)}`;
}

describe.each(await backends())("recording through the gateway (%s)", (backend) => {
  let db: Awaited<ReturnType<typeof testStore>>;
  let s: Stack;
  let token: string;
  beforeAll(async () => {
    db = await testStore(backend);
    const issuer = await openEmbeddedIssuer(mkdtempSync(join(tmpdir(), "record-issuer-")));
    token = await issuer.mintToken({ sub: "alice", email: "alice@example.com", groups: ["dev"] });
    const fingerprint = (secret: string) => db.store.fingerprint(secret);
    s = await startStack(
      {
        auth: {
          authenticator: createAuthenticator({ embedded: issuer }),
          policy: { allowGroups: [], approvalGroups: [], approverGroups: [] },
          passthroughAuth: "required",
          tokenHelp: "Get a token.",
          fingerprint,
        },
        redact: {
          detector: createDetector(),
          requestMode: "mask",
          responseMode: "mask",
          fingerprint,
          maxDecodedBytes: 1 << 24,
        },
        writer: db.writer,
      },
      { allowUpstreamPort: true },
    );
  });
  afterAll(async () => {
    await s?.close();
    await db?.close();
  });

  const agent = () => s.agent({ proxyAuthorization: `Bearer ${token}` });

  it("records N concurrent completion and chat streams exactly, with identity, bodies and assembled text", async () => {
    const n = 8;
    const a = agent();
    const ids = Array.from({ length: 2 * n }, (_, i) => `rec-${backend}-${i}`);
    await Promise.all(
      ids.map(async (id, i) => {
        const chat = i % 2 === 1;
        const r = await request(
          chat
            ? "https://api.githubcopilot.com/chat/completions"
            : "https://copilot-proxy.githubusercontent.com/v1/engines/gpt-41-copilot/completions",
          {
            dispatcher: a,
            method: "POST",
            headers: {
              "content-type": "application/json",
              "x-request-id": id,
              "x-testkit-reply": encodeURIComponent(`answer number ${i}`),
              "x-testkit-delay-ms": "5",
            },
            body: JSON.stringify(
              chat
                ? {
                    model: "gpt-4o-mini",
                    stream: true,
                    messages: [
                      { role: "system", content: "be brief" },
                      { role: "user", content: `question ${i}` },
                    ],
                  }
                : { prompt: `def f${i}():`, suffix: "\n", stream: true },
            ),
          },
        );
        expect(r.statusCode).toBe(200);
        expect(await r.body.text()).toContain("[DONE]");
      }),
    );
    await vi.waitFor(async () => {
      const rows = await db.store.db
        .selectFrom("exchanges as e")
        .innerJoin("exchange_responses as r", "r.exchange_id", "e.id")
        .select([
          "e.client_request_id",
          "e.endpoint_kind",
          "e.model",
          "e.prompt_text",
          "e.identity_subject",
          "e.identity_email",
          "e.identity_token_fingerprint",
          "e.body_text",
          "r.status",
          "r.outcome",
          "r.completion_text",
          "r.ttfb_ms",
        ])
        .where("e.client_request_id", "in", ids)
        .execute();
      expect(rows).toHaveLength(2 * n);
      for (const row of rows) {
        const i = Number(row.client_request_id?.split("-").at(-1));
        const chat = i % 2 === 1;
        expect(row).toMatchObject({
          endpoint_kind: chat ? "chat" : "completions",
          model: chat ? "gpt-4o-mini" : "gpt-41-copilot",
          prompt_text: chat ? `question ${i}` : `def f${i}():`,
          identity_subject: "alice",
          identity_email: "alice@example.com",
          identity_token_fingerprint: db.store.fingerprint(token),
          status: 200,
          outcome: "completed",
          completion_text: `answer number ${i}`,
        });
        expect(row.body_text).toContain(chat ? `question ${i}` : `def f${i}():`);
        expect(row.ttfb_ms).not.toBeNull();
      }
    });
  });

  it("masks a secret in the prompt before it leaves, and records only its fingerprint", async () => {
    const secret = githubToken(1);
    const r = await request("https://api.githubcopilot.com/chat/completions", {
      dispatcher: agent(),
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": `secret-in-${backend}` },
      body: JSON.stringify({
        stream: true,
        messages: [{ role: "user", content: `why does GITHUB_TOKEN=${secret} fail?` }],
      }),
    });
    expect(r.statusCode).toBe(200);
    await r.body.text();
    const sent = s.upstream.requests.find((x) => x.requestId === `secret-in-${backend}`);
    expect(sent?.body.toString()).toContain("GITHUB_TOKEN=[REDACTED:github-pat] fail?");
    expect(sent?.body.toString()).not.toContain(secret.slice(4, 12));
    await vi.waitFor(async () => {
      const ex = await db.store.db
        .selectFrom("exchanges")
        .select(["id", "body_text", "prompt_text"])
        .where("client_request_id", "=", `secret-in-${backend}`)
        .executeTakeFirstOrThrow();
      expect(ex.prompt_text).toBe("why does GITHUB_TOKEN=[REDACTED:github-pat] fail?");
      const f = await db.store.db
        .selectFrom("findings")
        .selectAll()
        .where("exchange_id", "=", ex.id)
        .execute();
      expect(f).toHaveLength(1);
      expect(f[0]).toMatchObject({
        direction: "request",
        rule_id: "github-pat",
        action: "masked",
        fingerprint: db.store.fingerprint(secret),
      });
    });
  });

  it("masks a secret the model streams back, split across events, before the developer sees it", async () => {
    const secret = githubToken(2);
    const reply = `use this: ${secret} and go`;
    const pieces = [reply.slice(0, 14), reply.slice(14, 25), reply.slice(25, 40), reply.slice(40)];
    const r = await request("https://api.githubcopilot.com/chat/completions", {
      dispatcher: agent(),
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-request-id": `secret-out-${backend}`,
        "x-testkit-pieces": JSON.stringify(pieces),
      },
      body: JSON.stringify({ stream: true, messages: [{ role: "user", content: "give me a token" }] }),
    });
    const text = await r.body.text();
    expect(text).not.toContain(secret.slice(4, 10));
    const visible = [...text.matchAll(/"content":"([^"]*)"/g)].map((m) => m[1]).join("");
    expect(visible).toBe("use this: [REDACTED:github-pat] and go");
    await vi.waitFor(async () => {
      const row = await db.store.db
        .selectFrom("exchanges as e")
        .innerJoin("exchange_responses as r", "r.exchange_id", "e.id")
        .select(["e.id", "r.completion_text", "r.body_text"])
        .where("e.client_request_id", "=", `secret-out-${backend}`)
        .executeTakeFirstOrThrow();
      expect(row.completion_text).toBe("use this: [REDACTED:github-pat] and go");
      expect(row.body_text).not.toContain(secret.slice(4, 10));
      const f = await db.store.db
        .selectFrom("findings")
        .selectAll()
        .where("exchange_id", "=", row.id)
        .execute();
      expect(f.map((x) => [x.direction, x.rule_id, x.fingerprint])).toEqual([
        ["response", "github-pat", db.store.fingerprint(secret)],
      ]);
    });
  });

  it("keeps secrets in custom headers out of the record (the header itself is forwarded unchanged)", async () => {
    const secret = githubToken(3);
    const r = await request("https://api.githubcopilot.com/models", {
      dispatcher: agent(),
      headers: { "x-request-id": `hdr-${backend}`, "x-api-key": secret },
    });
    expect(r.statusCode).toBe(200);
    await r.body.dump();
    expect(s.upstream.requests.find((x) => x.requestId === `hdr-${backend}`)?.headers["x-api-key"]).toBe(
      secret,
    );
    await vi.waitFor(async () => {
      const ex = await db.store.db
        .selectFrom("exchanges")
        .select(["id", "headers"])
        .where("client_request_id", "=", `hdr-${backend}`)
        .executeTakeFirstOrThrow();
      expect(JSON.stringify(ex.headers)).not.toContain(secret.slice(4));
      expect(JSON.stringify(ex.headers)).toContain("[REDACTED:github-pat]");
      const f = await db.store.db
        .selectFrom("findings")
        .selectAll()
        .where("exchange_id", "=", ex.id)
        .execute();
      expect(f.map((x) => [x.direction, x.location, x.action, x.fingerprint])).toEqual([
        ["request", "headers.x-api-key", "reported", db.store.fingerprint(secret)],
      ]);
    });
  });

  it("fingerprints the Copilot token from the token exchange in the record, not in what the client gets", async () => {
    const r = await request("https://api.github.com/copilot_internal/v2/token", {
      dispatcher: agent(),
      headers: {
        authorization: "token gho_notarealtokenbutstillsecret0000000",
        "x-request-id": `tok-${backend}`,
      },
    });
    const got = (await r.body.json()) as { token: string };
    expect(got.token).toMatch(/^tid=testkit/);
    await vi.waitFor(async () => {
      const row = await db.store.db
        .selectFrom("exchanges as e")
        .innerJoin("exchange_responses as r", "r.exchange_id", "e.id")
        .select(["e.headers", "r.body_text", "e.endpoint_kind"])
        .where("e.client_request_id", "=", `tok-${backend}`)
        .executeTakeFirstOrThrow();
      expect(row.endpoint_kind).toBe("token");
      expect(row.body_text).not.toContain(got.token);
      expect(row.body_text).toContain("hmac-sha256:");
      expect(JSON.stringify(row.headers)).not.toContain("gho_notarealtoken");
    });
  });

  it("records refusals (here a Host mismatch) with both rows and the reason", async () => {
    const t = await connectThroughProxy(s.port, "api.githubcopilot.com:443", {
      headers: { "Proxy-Authorization": `Bearer ${token}` },
    });
    const { connect } = await import("node:tls");
    const tls = connect({
      socket: t.socket,
      servername: "api.githubcopilot.com",
      ca: s.caPem,
      ALPNProtocols: ["http/1.1"],
    });
    await new Promise((r) => tls.once("secureConnect", r));
    const reply = await new Promise<string>((resolve) => {
      let out = "";
      tls.on("data", (d) => {
        out += d;
        if (/\r\n\r\n[\s\S]*\n$/.test(out)) resolve(out);
      });
      tls.write(
        "GET /models HTTP/1.1\r\nHost: elsewhere.example\r\nX-Request-Id: refused-" + backend + "\r\n\r\n",
      );
    });
    tls.destroy();
    expect(reply).toMatch(/^HTTP\/1.1 421 /);
    await vi.waitFor(async () => {
      const row = await db.store.db
        .selectFrom("exchanges as e")
        .innerJoin("exchange_responses as r", "r.exchange_id", "e.id")
        .select(["r.status", "r.outcome", "r.error_code", "r.error_details", "e.identity_subject"])
        .where("e.client_request_id", "=", `refused-${backend}`)
        .executeTakeFirstOrThrow();
      expect(row).toMatchObject({
        status: 421,
        outcome: "refused",
        error_code: "host_mismatch",
        identity_subject: "alice",
      });
    });
  });

  it("records tunnels as metadata only, and refused CONNECTs with their reason", async () => {
    const t = await connectThroughProxy(s.port, `127.0.0.1:${s.upstream.port}`, {
      headers: { "Proxy-Authorization": `Bearer ${token}` },
    });
    t.socket.write("hello, not TLS");
    await new Promise((r) => setTimeout(r, 100));
    t.socket.destroy();
    const refused = await connectThroughProxy(s.port, "api.githubcopilot.com:443");
    expect(refused.statusCode).toBe(407);
    await vi.waitFor(async () => {
      const tunnel = await db.store.db
        .selectFrom("sessions as s")
        .innerJoin("session_ends as e", "e.session_id", "s.id")
        .select(["s.mode", "s.identity_subject", "e.bytes_from_client", "e.close_reason"])
        .where("s.target_port", "=", s.upstream.port)
        .where("s.mode", "=", "tunnel")
        .executeTakeFirstOrThrow();
      expect(tunnel.identity_subject).toBe("alice");
      expect(Number(tunnel.bytes_from_client)).toBe("hello, not TLS".length);
      const r = await db.store.db
        .selectFrom("sessions")
        .select(["mode", "refusal_status", "refusal_code", "refusal_details"])
        .where("mode", "=", "refused")
        .where("refusal_code", "=", "proxy_auth_required")
        .executeTakeFirstOrThrow();
      expect(r.refusal_status).toBe(407);
      expect(r.refusal_details).toMatch(/no Proxy-Authorization header/);
    });
  });

  it("keeps every secret out of the database, and the chain verifies", async () => {
    await db.writer.close();
    const dump = await sql<{ t: string }>`select string_agg(t::text, ' ') as t from (
      select row_to_json(x)::text as t from exchanges x union all select row_to_json(y)::text from exchange_responses y
      union all select row_to_json(z)::text from findings z union all select row_to_json(w)::text from sessions w) q`.execute(
      db.store.db,
    );
    const all = dump.rows[0]?.t ?? "";
    expect(all).not.toContain(githubToken(1));
    expect(all).not.toContain(githubToken(2));
    expect(all).not.toContain(githubToken(3));
    expect(all).not.toContain(token);
    const report = await db.store.verify();
    expect(report.ok).toBe(true);
    expect(report.totalRows).toBeGreaterThan(40);
  });
});
