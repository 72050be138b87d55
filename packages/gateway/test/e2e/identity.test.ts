import { createAuthenticator } from "@copilot-audit/identity";
import { connectThroughProxy, type FakeIssuer, proxyAgent, startFakeIssuer } from "@copilot-audit/testkit";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PassthroughAuth } from "../../src/auth.js";
import { type Stack, startStack } from "../helpers.js";

const HELP = "Get a token from the test IdP.";

async function stackWith(
  fake: FakeIssuer,
  opts: { allowGroups?: string[]; passthroughAuth?: PassthroughAuth; allowUpstreamPort?: boolean } = {},
): Promise<Stack> {
  const authenticator = createAuthenticator({
    issuer: fake.issuer,
    audience: "copilot-audit",
    clockToleranceSec: 0,
    jwksCooldownMs: 0,
    retryMinMs: 50,
    retryMaxMs: 200,
  });
  return startStack(
    {
      auth: {
        authenticator,
        policy: { allowGroups: opts.allowGroups ?? [], approvalGroups: [], approverGroups: [] },
        passthroughAuth: opts.passthroughAuth ?? "required",
        tokenHelp: HELP,
      },
    },
    { allowUpstreamPort: opts.allowUpstreamPort ?? false },
  );
}

const connect = (s: Stack, auth?: string, target = "api.githubcopilot.com:443") =>
  connectThroughProxy(s.port, target, auth ? { headers: { "Proxy-Authorization": auth } } : {});

describe("identity at the proxy", () => {
  let fake: FakeIssuer;
  let s: Stack;
  beforeAll(async () => {
    fake = await startFakeIssuer({ algorithm: "RS256" });
    s = await stackWith(fake);
  });
  afterAll(async () => {
    await s.close();
    await fake.close();
  });

  it("accepts Bearer and Basic (token as the password) and never forwards them", async () => {
    const token = await fake.mint({ sub: "alice", email: "alice@example.com" });
    const bearer = s.agent({ proxyAuthorization: `Bearer ${token}` });
    let r = await request("https://api.githubcopilot.com/__testkit/echo", { dispatcher: bearer });
    expect(r.statusCode).toBe(200);
    expect(
      ((await r.body.json()) as { headers: Record<string, string> }).headers["proxy-authorization"],
    ).toBeUndefined();
    const basic = proxyAgent({ proxy: `http://oidc:${token}@127.0.0.1:${s.port}`, ca: s.caPem });
    r = await request("https://api.githubcopilot.com/models", { dispatcher: basic });
    expect(r.statusCode).toBe(200);
    await r.body.dump();
    await basic.close();
  });

  it("answers a missing header with 407, both challenges, and how to get a token", async () => {
    const r = await connect(s);
    expect(r.statusCode).toBe(407);
    expect(r.headers["x-copilot-audit-error"]).toBe("proxy_auth_required");
    expect(r.headers["proxy-authenticate"]).toBeDefined();
    const raw = r.statusLine;
    expect(raw).toBe("HTTP/1.1 407 Proxy Authentication Required");
    expect(r.body).toMatch(
      /^copilot-audit: proxy authentication failed: .*Proxy-Authorization.*\. Get a token from the test IdP\.\n$/,
    );
  });

  it("sends both Proxy-Authenticate challenges", async () => {
    const { rawExchange } = await import("@copilot-audit/testkit");
    const reply = await rawExchange(
      s.port,
      "CONNECT api.githubcopilot.com:443 HTTP/1.1\r\nHost: api.githubcopilot.com:443\r\n\r\n",
    );
    expect(reply).toMatch(/\r\nproxy-authenticate: Basic realm="copilot-audit", charset="UTF-8"\r\n/i);
    expect(reply).toMatch(/\r\nproxy-authenticate: Bearer realm="copilot-audit"\r\n/i);
  });

  it.each([
    ["a malformed header", async () => "Basic bm8tY29sb24=", /malformed|password|colon|token/i],
    ["an unknown scheme", async () => "Digest abc", /Bearer|Basic/],
    [
      "an expired token",
      async () => `Bearer ${await fake.mint({}, { expiresIn: -60 })}`,
      /expired at \d{4}-\d\d-\d\dT/,
    ],
    [
      "a token not yet valid",
      async () => `Bearer ${await fake.mint({}, { notBefore: 3600 })}`,
      /not (yet )?valid/i,
    ],
    [
      "a wrong issuer",
      async () => `Bearer ${await fake.mint({}, { issuer: "https://evil.example" })}`,
      /issuer/i,
    ],
    [
      "a wrong audience",
      async () => `Bearer ${await fake.mint({}, { audience: "someone-else" })}`,
      /audience/i,
    ],
    ["a bad signature", async () => `Bearer ${await fake.mint({}, { sign: "tampered" })}`, /signature/i],
    ["alg none", async () => `Bearer ${await fake.mint({}, { sign: "none" })}`, /algorithm|none/i],
    [
      "HS256 signed with the public key",
      async () => `Bearer ${await fake.mint({}, { sign: "hs256-with-public-key" })}`,
      /algorithm|HS256/i,
    ],
    ["garbage", async () => "Bearer not.a.jwt", /token/i],
  ])("answers %s with 407 and says what was wrong", async (_name, header, reason) => {
    const r = await connect(s, await header());
    expect(r.statusCode).toBe(407);
    expect(r.headers["x-copilot-audit-error"]).toBe("proxy_auth_required");
    expect(r.body).toMatch(/^copilot-audit: proxy authentication failed: /);
    expect(r.body).toMatch(reason);
    expect(r.body).toMatch(/Get a token from the test IdP\.\n$/);
  });

  it("follows a key rotation without a restart (unknown kid → refetch → success)", async () => {
    const before = fake.stats.jwks;
    fake.rotate();
    const token = await fake.mint({ sub: "after-rotation" });
    const r = await connect(s, `Bearer ${token}`);
    expect(r.statusCode).toBe(200);
    r.socket.destroy();
    expect(fake.stats.jwks).toBeGreaterThan(before);
  });

  it("keeps working while the IdP is down when keys are cached", async () => {
    const token = await fake.mint({ sub: "warm" });
    fake.down();
    try {
      const r = await connect(s, `Bearer ${token}`);
      expect(r.statusCode).toBe(200);
      r.socket.destroy();
    } finally {
      fake.up();
    }
  });
});

describe("identity provider down with no cached keys", () => {
  it("answers 503 for Copilot hosts (the token may be fine) and keeps tunnels working", async () => {
    const fake = await startFakeIssuer();
    const token = await fake.mint({ sub: "cold" });
    fake.down();
    const s = await stackWith(fake, { allowUpstreamPort: true });
    try {
      const r = await connect(s, `Bearer ${token}`);
      expect(r.statusCode).toBe(503);
      expect(r.headers["x-copilot-audit-error"]).toBe("idp_unavailable");
      expect(r.body).toMatch(/^copilot-audit: cannot verify your token right now: .*retry shortly\n$/);
      const tunnel = await connect(s, `Bearer ${token}`, `127.0.0.1:${s.upstream.port}`);
      expect(tunnel.statusCode).toBe(200);
      tunnel.socket.destroy();
    } finally {
      await s.close();
      await fake.close();
    }
  });
});

describe("a token that expires while its tunnel stays open", () => {
  it("gets 407 on the next exchange and the connection is closed", async () => {
    const fake = await startFakeIssuer({ algorithm: "ES256" });
    const s = await stackWith(fake);
    try {
      const token = await fake.mint({ sub: "short" }, { expiresIn: 2 });
      const agent = s.agent({ proxyAuthorization: `Bearer ${token}` });
      const first = await request("https://api.githubcopilot.com/models", { dispatcher: agent });
      expect(first.statusCode).toBe(200);
      await first.body.dump();
      await new Promise((r) => setTimeout(r, 2300));
      const before = s.upstream.requests.length;
      const second = await request("https://api.githubcopilot.com/models", { dispatcher: agent });
      expect(second.statusCode).toBe(407);
      expect(second.headers.connection).toBe("close");
      expect(second.headers["proxy-authenticate"]).toBeDefined();
      expect(await second.body.text()).toMatch(
        /^copilot-audit: proxy authentication failed: .*expired at .*reconnect with a fresh token\.\n$/,
      );
      expect(s.upstream.requests.length).toBe(before);
      // Reconnecting with the same expired token is refused at CONNECT.
      await expect(request("https://api.githubcopilot.com/models", { dispatcher: agent })).rejects.toThrow(
        /407/,
      );
    } finally {
      await s.close();
      await fake.close();
    }
  });
});

describe("group policy", () => {
  let fake: FakeIssuer;
  let s: Stack;
  beforeAll(async () => {
    fake = await startFakeIssuer();
    s = await stackWith(fake, { allowGroups: ["copilot-users"], allowUpstreamPort: true });
  });
  afterAll(async () => {
    await s.close();
    await fake.close();
  });

  it("lets members in", async () => {
    const r = await connect(s, `Bearer ${await fake.mint({ sub: "m", groups: ["dev", "copilot-users"] })}`);
    expect(r.statusCode).toBe(200);
    r.socket.destroy();
  });

  it("refuses others with 403 naming the missing group", async () => {
    const r = await connect(
      s,
      `Bearer ${await fake.mint({ sub: "x", email: "x@example.com", groups: ["dev"] })}`,
    );
    expect(r.statusCode).toBe(403);
    expect(r.headers["x-copilot-audit-error"]).toBe("forbidden");
    expect(r.body).toMatch(/^copilot-audit: Copilot access denied for x@example.com: .*copilot-users/);
  });

  it("fails closed on Entra group overage and says so", async () => {
    const token = await fake.mint({
      sub: "o",
      _claim_names: { groups: "src1" },
      _claim_sources: { src1: { endpoint: "https://graph.microsoft.com/v1.0/users/o/getMemberObjects" } },
    });
    const r = await connect(s, `Bearer ${token}`);
    expect(r.statusCode).toBe(403);
    expect(r.body).toMatch(/overage/i);
  });

  it("does not apply Copilot group rules to tunnels", async () => {
    const r = await connect(
      s,
      `Bearer ${await fake.mint({ sub: "x", groups: ["dev"] })}`,
      `127.0.0.1:${s.upstream.port}`,
    );
    expect(r.statusCode).toBe(200);
    r.socket.destroy();
  });
});

describe("passthroughAuth", () => {
  it("open: tunnels need no token; deny: tunnels are refused; Copilot hosts always need one", async () => {
    const fake = await startFakeIssuer();
    const open = await stackWith(fake, { passthroughAuth: "open", allowUpstreamPort: true });
    const deny = await stackWith(fake, { passthroughAuth: "deny", allowUpstreamPort: true });
    try {
      const t = await connect(open, undefined, `127.0.0.1:${open.upstream.port}`);
      expect(t.statusCode).toBe(200);
      t.socket.destroy();
      expect((await connect(open)).statusCode).toBe(407);
      const d = await connect(deny, `Bearer ${await fake.mint()}`, `127.0.0.1:${deny.upstream.port}`);
      expect(d.statusCode).toBe(403);
      expect(d.headers["x-copilot-audit-error"]).toBe("tunnel_denied");
      expect(d.body).toMatch(/only serves Copilot hosts/);
    } finally {
      await open.close();
      await deny.close();
      await fake.close();
    }
  });
});

describe("GitHub's API host without proxy credentials (browsers with a PAC file)", () => {
  it("lets the tunnel in for GitHub's API, but its Copilot paths demand a token (407 and close)", async () => {
    const fake = await startFakeIssuer();
    const s = await stackWith(fake);
    try {
      const { connect: tlsConnect } = await import("node:tls");
      const r = await connect(s, undefined, "api.github.com:443");
      expect(r.statusCode).toBe(200);
      const tls = tlsConnect({
        socket: r.socket,
        servername: "api.github.com",
        ca: s.caPem,
        ALPNProtocols: ["http/1.1"],
      });
      await new Promise((res) => tls.once("secureConnect", res));
      const read = () =>
        new Promise<string>((resolve) => {
          let out = "";
          const onData = (d: Buffer) => {
            out += d;
            const m = /content-length: (\d+)/i.exec(out);
            const start = out.indexOf("\r\n\r\n");
            if (m && start > 0 && out.length - start - 4 >= Number(m[1])) {
              tls.removeListener("data", onData);
              resolve(out);
            }
          };
          tls.on("data", onData);
        });
      tls.write("GET /repos/octo/cat HTTP/1.1\r\nHost: api.github.com\r\n\r\n");
      expect(await read()).toMatch(/^HTTP\/1.1 404 [\s\S]*"path":"\/repos\/octo\/cat"/);
      tls.write("GET /copilot_internal/v2/token HTTP/1.1\r\nHost: api.github.com\r\n\r\n");
      const refused = await read();
      expect(refused).toMatch(/^HTTP\/1.1 407 /);
      expect(refused).toMatch(/connection: close/i);
      expect(refused).toMatch(
        /this request is Copilot traffic and the connection carries no proxy credentials/,
      );
      tls.destroy();
      // Credentials that are present but wrong are still refused at CONNECT.
      expect((await connect(s, "Bearer nope", "api.github.com:443")).statusCode).toBe(407);
    } finally {
      await s.close();
      await fake.close();
    }
  });
});
