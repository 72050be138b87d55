import { createServer } from "node:net";
import { connectThroughProxy, rawExchange, tlsThroughProxy } from "@copilot-audit/testkit";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type Stack, startStack } from "../helpers.js";

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as import("node:net").AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Reads one HTTP response (head + content-length body) from a TLS socket inside a tunnel. */
function readResponse(socket: import("node:tls").TLSSocket): Promise<string> {
  return new Promise((resolve) => {
    let out = "";
    socket.on("data", (d) => {
      out += d;
      const start = out.indexOf("\r\n\r\n");
      const m = /content-length: (\d+)/i.exec(out);
      if (start > 0 && m && out.length - start - 4 >= Number(m[1])) resolve(out);
    });
    socket.on("close", () => resolve(out));
  });
}

describe("bad input gets a precise answer and the gateway keeps serving", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({
      maxHeaderBytes: 8 * 1024,
      maxRequestBodyBytes: 64 * 1024,
      timeouts: { upstreamHeadersMs: 400 },
    });
  });
  afterAll(() => s.close());

  const expectStillServing = async () => {
    const r = await request("https://api.githubcopilot.com/models", { dispatcher: s.agent() });
    expect(r.statusCode).toBe(200);
    await r.body.json();
  };

  it("malformed request line → 400 with the parser's reason", async () => {
    const reply = await rawExchange(s.port, "GARBAGE\r\n\r\n");
    expect(reply).toMatch(/^HTTP\/1.1 400 Bad Request\r\n/);
    expect(reply).toMatch(/x-copilot-audit-error: bad_request/);
    expect(reply).toMatch(/copilot-audit: malformed HTTP request: .+\(HPE_/);
    await expectStillServing();
  });

  it("CONNECT without a port → 400 naming the fix", async () => {
    const r = await connectThroughProxy(s.port, "api.githubcopilot.com");
    expect(r.statusCode).toBe(400);
    expect(r.headers["x-copilot-audit-error"]).toBe("connect_target_invalid");
    expect(r.body).toBe(
      'copilot-audit: CONNECT target "api.githubcopilot.com" has no port: expected api.githubcopilot.com:443\n',
    );
  });

  it("CONNECT to a disallowed port → 403", async () => {
    const r = await connectThroughProxy(s.port, "api.githubcopilot.com:22");
    expect(r.statusCode).toBe(403);
    expect(r.body).toMatch(
      /CONNECT to port 22 is not allowed \(allowed: 443; an operator can add --allow-port 22\)/,
    );
  });

  it("CONNECT to the gateway itself → 508", async () => {
    const port = await freePort();
    const t = await startStack({ listen: { host: "127.0.0.1", port }, allowPorts: [port] });
    try {
      for (const host of ["127.0.0.1", "localhost"]) {
        const r = await connectThroughProxy(t.port, `${host}:${port}`);
        expect(r.statusCode).toBe(508);
        expect(r.body).toBe(`copilot-audit: ${host}:${port} is this gateway itself\n`);
      }
    } finally {
      await t.close();
    }
  });

  it("oversized headers → 431, on the proxy port and inside a tunnel", async () => {
    const big = "x".repeat(12 * 1024);
    const r = await connectThroughProxy(s.port, "api.githubcopilot.com:443", { headers: { "x-big": big } });
    expect(r.statusCode).toBe(431);
    expect(r.body).toBe("copilot-audit: the request headers exceed the gateway limit (maxHeaderBytes)\n");
    const t = await tlsThroughProxy(s.port, "api.githubcopilot.com:443", { ca: s.caPem, alpn: ["http/1.1"] });
    const reply = readResponse(t.socket);
    t.socket.write(`GET /models HTTP/1.1\r\nHost: api.githubcopilot.com\r\nX-Big: ${big}\r\n\r\n`);
    expect(await reply).toMatch(/^HTTP\/1.1 431 [\s\S]*maxHeaderBytes/);
    t.socket.destroy();
    await expectStillServing();
  });

  it("a request body over the limit → 413, nothing forwarded", async () => {
    const before = s.upstream.requests.length;
    const r = await request("https://api.githubcopilot.com/chat/completions", {
      dispatcher: s.agent(),
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "y".repeat(100 * 1024) }] }),
    });
    expect(r.statusCode).toBe(413);
    expect(await r.body.text()).toMatch(
      /^copilot-audit: the request body \(\d+ bytes or more\) exceeds the gateway limit of 65536 bytes/,
    );
    expect(s.upstream.requests.length).toBe(before);
    await expectStillServing();
  });

  it("upstream resets before answering → 502", async () => {
    const r = await request("https://api.githubcopilot.com/__testkit/reset-before-response", {
      dispatcher: s.agent(),
    });
    expect(r.statusCode).toBe(502);
    expect(r.headers["x-copilot-audit-error"]).toBe("upstream_reset");
    expect(await r.body.text()).toBe(
      "copilot-audit: api.githubcopilot.com:443 closed the connection before sending a response\n",
    );
    await expectStillServing();
  });

  it("upstream resets mid-stream → the client sees a truncated response, others are unaffected", async () => {
    const r = await request("https://api.githubcopilot.com/__testkit/reset-mid-stream", {
      dispatcher: s.agent(),
    });
    expect(r.statusCode).toBe(200);
    await expect(r.body.text()).rejects.toBeInstanceOf(Error);
    await expectStillServing();
  });

  it("upstream too slow → 504", async () => {
    const r = await request("https://api.githubcopilot.com/__testkit/slow-headers?ms=3000", {
      dispatcher: s.agent(),
    });
    expect(r.statusCode).toBe(504);
    expect(await r.body.text()).toBe(
      "copilot-audit: api.githubcopilot.com:443 sent no response within 400 ms\n",
    );
  });

  it("upstream certificate not trusted → 502 naming the TLS failure", async () => {
    const t = await startStack({ upstreamCaPems: [] });
    try {
      const r = await request("https://api.githubcopilot.com/models", { dispatcher: t.agent() });
      expect(r.statusCode).toBe(502);
      expect(r.headers["x-copilot-audit-error"]).toBe("upstream_tls");
      expect(await r.body.text()).toMatch(
        /^copilot-audit: TLS with api.githubcopilot.com:443 failed: (UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)/,
      );
    } finally {
      await t.close();
    }
  });

  it("upstream refuses the connection → 502", async () => {
    const t = await startStack({
      resolve: new Map([["api.githubcopilot.com", { host: "127.0.0.1", port: 1 }]]),
    });
    try {
      const r = await request("https://api.githubcopilot.com/models", { dispatcher: t.agent() });
      expect(r.statusCode).toBe(502);
      expect(await r.body.text()).toBe("copilot-audit: api.githubcopilot.com:443 refused the connection\n");
    } finally {
      await t.close();
    }
  });

  it("plain text inside an intercepted tunnel → 400", async () => {
    const r = await connectThroughProxy(s.port, "api.githubcopilot.com:443");
    const reply = await new Promise<string>((resolve) => {
      let out = "";
      r.socket.on("data", (d) => {
        out += d;
      });
      r.socket.on("close", () => resolve(out));
      r.socket.resume();
      r.socket.write("GET / HTTP/1.1\r\nHost: api.githubcopilot.com\r\n\r\n");
    });
    expect(reply).toMatch(/^HTTP\/1.1 400 [\s\S]*expected a TLS handshake for api.githubcopilot.com:443/);
  });

  it("https:// URLs sent as plain requests → 400; admin 404/405 with bodies", async () => {
    const reply = await rawExchange(
      s.port,
      "GET https://api.githubcopilot.com/models HTTP/1.1\r\nHost: api.githubcopilot.com\r\nConnection: close\r\n\r\n",
    );
    expect(reply).toMatch(/^HTTP\/1.1 400 [\s\S]*https:\/\/ URLs must be tunnelled with CONNECT/);
    const notFound = await rawExchange(s.port, "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    expect(notFound).toMatch(/^HTTP\/1.1 404 [\s\S]*no such endpoint \/nope/);
    const post = await rawExchange(
      s.port,
      "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    expect(post).toMatch(/^HTTP\/1.1 405 [\s\S]*only answers GET/);
  });

  it("a client that hangs up mid-stream does not disturb the gateway", async () => {
    const ac = new AbortController();
    const r = await request("https://api.githubcopilot.com/chat/completions", {
      dispatcher: s.agent(),
      method: "POST",
      headers: { "content-type": "application/json", "x-testkit-delay-ms": "100" },
      body: JSON.stringify({ messages: [], stream: true }),
      signal: ac.signal,
    });
    const it = r.body[Symbol.asyncIterator]();
    await it.next();
    ac.abort();
    await expect(it.next()).rejects.toThrow();
    await expectStillServing();
  });

  it("never lets a Host header inject routes into /proxy.pac", async () => {
    const reply = await rawExchange(
      s.port,
      "GET /proxy.pac HTTP/1.1\r\nHost: gw:8080; DIRECT\r\nConnection: close\r\n\r\n",
    );
    expect(reply).toMatch(/^HTTP\/1.1 200 /);
    expect(reply).not.toContain("gw:8080; DIRECT");
    expect(reply).toContain(`"PROXY 127.0.0.1:${s.port}"`);
    const ok = await rawExchange(
      s.port,
      "GET /proxy.pac HTTP/1.1\r\nHost: gw.corp.example:8080\r\nConnection: close\r\n\r\n",
    );
    expect(ok).toContain('"PROXY gw.corp.example:8080"');
  });

  it("logs a client that aborts the handshake because it does not trust our CA", async () => {
    const { connect } = await import("node:tls");
    const r = await connectThroughProxy(s.port, "api.githubcopilot.com:443");
    await new Promise<void>((resolve) => {
      const tls = connect({ socket: r.socket, servername: "api.githubcopilot.com" }); // system roots only
      tls.once("error", () => resolve());
      tls.once("secureConnect", () => resolve());
    });
    await vi.waitFor(() =>
      expect(
        s.logs.some((l) => typeof l.msg === "string" && /does not trust the copilot-audit CA/.test(l.msg)),
      ).toBe(true),
    );
  });
});
