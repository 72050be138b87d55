import { X509Certificate } from "node:crypto";
import { COPILOT_TEST_HOSTS, tlsThroughProxy } from "@copilot-audit/testkit";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../helpers.js";

describe("intercepted Copilot hosts", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack();
  });
  afterAll(() => s.close());

  it("terminates TLS with a certificate for the CONNECT host that chains to our CA, ALPN http/1.1", async () => {
    for (const host of [
      "api.githubcopilot.com",
      "api.business.githubcopilot.com",
      "copilot-proxy.githubusercontent.com",
    ]) {
      const t = await tlsThroughProxy(s.port, `${host}:443`, { ca: s.caPem });
      expect(t.authorized, `${host}: ${t.authorizationError}`).toBe(true);
      expect(t.alpnProtocol).toBe("http/1.1");
      const leaf = new X509Certificate(t.certificate.raw);
      expect(leaf.subjectAltName).toBe(`DNS:${host}`);
      expect(leaf.issuer).toBe(new X509Certificate(s.caPem).subject);
      t.socket.destroy();
    }
  });

  it("forwards requests to the CONNECT target and strips proxy credentials", async () => {
    const agent = s.agent({ proxyAuthorization: "Bearer not-a-real-token" });
    const before = s.upstream.requests.length;
    const res = await request("https://api.githubcopilot.com/__testkit/echo?x=1", {
      dispatcher: agent,
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "req-echo-1" },
      body: JSON.stringify({ hello: "world" }),
    });
    expect(res.statusCode).toBe(200);
    const echo = (await res.body.json()) as { path: string; headers: Record<string, string>; body: string };
    expect(echo.path).toBe("/__testkit/echo?x=1");
    expect(echo.body).toBe('{"hello":"world"}');
    expect(echo.headers.host).toBe("api.githubcopilot.com");
    expect(echo.headers["proxy-authorization"]).toBeUndefined();
    expect(Object.keys(echo.headers).some((h) => h.startsWith("proxy-"))).toBe(false);
    expect(s.upstream.requests.length).toBe(before + 1);
    expect(s.upstream.requests.at(-1)?.requestId).toBe("req-echo-1");
  });

  it("never forwards Proxy-Authorization or hop-by-hop headers sent inside the tunnel", async () => {
    const t = await tlsThroughProxy(s.port, "api.githubcopilot.com:443", { ca: s.caPem, alpn: ["http/1.1"] });
    const body = await new Promise<string>((resolve) => {
      let out = "";
      t.socket.on("data", (d) => {
        out += d;
        const m = /content-length: (\d+)/i.exec(out);
        const start = out.indexOf("\r\n\r\n");
        if (m && start > 0 && out.length - start - 4 >= Number(m[1])) resolve(out.slice(start + 4));
      });
      t.socket.write(
        "GET /__testkit/echo HTTP/1.1\r\nHost: api.githubcopilot.com\r\nProxy-Authorization: Basic bGVhazpsZWFr\r\n" +
          "Connection: keep-alive, X-Drop-Me\r\nX-Drop-Me: 1\r\nKeep-Alive: timeout=5\r\nX-Keep: yes\r\n\r\n",
      );
    });
    t.socket.destroy();
    const headers = (JSON.parse(body) as { headers: Record<string, string> }).headers;
    expect(headers["proxy-authorization"]).toBeUndefined();
    expect(headers["x-drop-me"]).toBeUndefined();
    expect(headers["keep-alive"]).toBeUndefined();
    expect(headers["x-keep"]).toBe("yes");
  });

  it("streams SSE: each event reaches the client when the upstream sends it", async () => {
    const agent = s.agent();
    const started = Date.now();
    const res = await request("https://api.githubcopilot.com/chat/completions", {
      dispatcher: agent,
      method: "POST",
      headers: { "content-type": "application/json", "x-testkit-delay-ms": "150", "x-testkit-chunk": "20" },
      body: JSON.stringify({ messages: [{ role: "user", content: "hi" }], stream: true }),
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/event-stream");
    const arrivals: number[] = [];
    let text = "";
    for await (const chunk of res.body) {
      arrivals.push(Date.now() - started);
      text += chunk.toString();
    }
    // 1 prompt-filter event + 3 content events + stop + usage + [DONE] = 7 events, 150 ms apart.
    expect(text.match(/^data: /gm)?.length).toBe(7);
    expect(text).toContain("data: [DONE]");
    expect(arrivals.length).toBeGreaterThanOrEqual(5);
    // The first event arrives long before the last one is sent (~1050 ms): nothing is buffered whole.
    expect(arrivals[0]).toBeLessThan(700);
    expect((arrivals.at(-1) as number) - (arrivals[0] as number)).toBeGreaterThan(600);
  });

  it("keeps connections alive on both sides", async () => {
    const agent = s.agent();
    const acceptedBefore = s.upstream.connectionsAccepted();
    for (let i = 0; i < 10; i++) {
      const r = await request("https://api.githubcopilot.com/models", { dispatcher: agent });
      expect(r.statusCode).toBe(200);
      await r.body.json();
    }
    // At most one new upstream connection for ten sequential requests.
    expect(s.upstream.connectionsAccepted() - acceptedBefore).toBeLessThanOrEqual(1);
    const connects = s.gateway.metrics.value("copilot_audit_connections_total", { mode: "intercept" });
    const r = await request("https://api.githubcopilot.com/models", { dispatcher: agent });
    await r.body.json();
    expect(s.gateway.metrics.value("copilot_audit_connections_total", { mode: "intercept" })).toBe(connects);
  });

  it("answers 421 when the Host header names another host, without forwarding", async () => {
    const t = await tlsThroughProxy(s.port, "api.githubcopilot.com:443", { ca: s.caPem, alpn: ["http/1.1"] });
    const before = s.upstream.requests.length;
    const reply = await new Promise<string>((resolve) => {
      let out = "";
      t.socket.on("data", (d) => {
        out += d;
        if (out.includes("\r\n\r\n") && /content-length: (\d+)/i.test(out)) {
          const len = Number(/content-length: (\d+)/i.exec(out)?.[1]);
          if (out.length - out.indexOf("\r\n\r\n") - 4 >= len) resolve(out);
        }
      });
      t.socket.write("GET /models HTTP/1.1\r\nHost: internal.corp.example\r\n\r\n");
    });
    t.socket.destroy();
    expect(reply).toMatch(/^HTTP\/1.1 421 /);
    expect(reply).toMatch(/x-copilot-audit-error: host_mismatch/i);
    expect(reply).toContain(
      'copilot-audit: Host "internal.corp.example" does not match the CONNECT target api.githubcopilot.com:443',
    );
    expect(s.upstream.requests.length).toBe(before);
  });

  it("passes non-Copilot paths of api.github.com through the interception unchanged", async () => {
    const agent = s.agent();
    const res = await request("https://api.github.com/repos/octo/cat", { dispatcher: agent });
    expect(res.statusCode).toBe(404); // the fake's answer, untouched
    expect(await res.body.json()).toEqual({ message: "Not Found", path: "/repos/octo/cat" });
    const token = await request("https://api.github.com/copilot_internal/v2/token", {
      dispatcher: agent,
      headers: { authorization: "token gho_x" },
    });
    expect(token.statusCode).toBe(200);
    expect(((await token.body.json()) as { token: string }).token).toMatch(/^tid=testkit/);
  });

  it("serves every Copilot test host through one gateway", async () => {
    const agent = s.agent();
    for (const host of COPILOT_TEST_HOSTS.filter((h) => h !== "api.github.com")) {
      const r = await request(`https://${host}/_ping`, { dispatcher: agent });
      expect(r.statusCode, host).toBe(200);
      await r.body.text();
    }
  });

  it("passes gzip responses through untouched when nothing needs to read them", async () => {
    const agent = s.agent();
    const res = await request("https://api.githubcopilot.com/models", {
      dispatcher: agent,
      headers: { "accept-encoding": "gzip", "x-testkit-gzip": "1" },
    });
    expect(res.headers["content-encoding"]).toBe("gzip");
    const { gunzipSync } = await import("node:zlib");
    expect(JSON.parse(gunzipSync(Buffer.from(await res.body.arrayBuffer())).toString())).toMatchObject({
      object: "list",
    });
  });

  it("never writes to console (no library noise)", () => {
    expect(s.logs.some((l) => typeof l.msg === "string" && /undefined|\[object/.test(l.msg as string))).toBe(
      false,
    );
  });
});
