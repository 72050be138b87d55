import { randomBytes, X509Certificate } from "node:crypto";
import { type AddressInfo, createServer, type Server } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { connectThroughProxy, proxyAgent } from "@copilot-audit/testkit";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type Stack, startStack } from "../helpers.js";

function tcpServer(
  onConn: (s: import("node:net").Socket) => void,
): Promise<{ server: Server; port: number }> {
  const server = createServer(onConn);
  return new Promise((r) =>
    server.listen(0, "127.0.0.1", () => r({ server, port: (server.address() as AddressInfo).port })),
  );
}

describe("tunnels to hosts we do not intercept", () => {
  let s: Stack;
  let echo: { server: Server; port: number };
  let greeter: { server: Server; port: number };
  beforeAll(async () => {
    echo = await tcpServer((c) => c.pipe(c));
    greeter = await tcpServer((c) => c.end("220 greeter ready\r\n"));
    s = await startStack({ timeouts: { peekMs: 500 } });
  });
  afterAll(async () => {
    await s.close();
    echo.server.close();
    greeter.server.close();
  });

  it("refuses ports outside the allow-list with a hint", async () => {
    const r = await connectThroughProxy(s.port, `127.0.0.1:${echo.port}`);
    expect(r.statusCode).toBe(403);
    expect(r.headers["x-copilot-audit-error"]).toBe("port_not_allowed");
    expect(r.body).toBe(
      `copilot-audit: CONNECT to port ${echo.port} is not allowed (allowed: 443; an operator can add --allow-port ${echo.port})\n`,
    );
  });

  describe("with the test ports allowed", () => {
    let t: Stack;
    beforeAll(async () => {
      t = await startStack({ allowPorts: [echo.port, greeter.port], timeouts: { peekMs: 500 } });
    });
    afterAll(() => t.close());

    it("is byte-for-byte, including bytes sent along with the CONNECT", async () => {
      const payload = randomBytes(3 * 1024 * 1024);
      const head = Buffer.from("sent-with-the-connect|");
      const r = await connectThroughProxy(t.port, `127.0.0.1:${echo.port}`, {
        raw: `CONNECT 127.0.0.1:${echo.port} HTTP/1.1\r\nHost: 127.0.0.1:${echo.port}\r\n\r\n${head.toString()}`,
      });
      expect(r.statusCode).toBe(200);
      const received: Buffer[] = [];
      let total = 0;
      const done = new Promise<void>((resolve) =>
        r.socket.on("data", (d: Buffer) => {
          received.push(d);
          total += d.length;
          if (total >= head.length + payload.length) resolve();
        }),
      );
      r.socket.resume();
      r.socket.write(payload);
      await done;
      r.socket.destroy();
      expect(Buffer.concat(received).equals(Buffer.concat([head, payload]))).toBe(true);
    });

    it("lets a server speak first", async () => {
      const r = await connectThroughProxy(t.port, `127.0.0.1:${greeter.port}`);
      const greeting = await new Promise<string>((resolve) => {
        r.socket.once("data", (d) => resolve(d.toString()));
        r.socket.resume();
      });
      expect(greeting).toBe("220 greeter ready\r\n");
      r.socket.destroy();
    });

    it("shows the client the origin's own certificate", async () => {
      // The fake upstream reached by IP on its own port: not intercepted, so its own test CA is what
      // the client sees (it does not trust ours).
      const t3 = await startStack({}, { allowUpstreamPort: true });
      const agent = proxyAgent({ proxy: t3.proxyUrl, ca: t3.upstream.caPem });
      try {
        const res = await request(`https://127.0.0.1:${t3.upstream.port}/models`, { dispatcher: agent });
        expect(res.statusCode).toBe(200);
        await res.body.json();
        const direct = await connectThroughProxy(t3.port, `127.0.0.1:${t3.upstream.port}`);
        const cert = await new Promise<X509Certificate>((resolve, reject) => {
          const tls = tlsConnect(
            { socket: direct.socket, servername: "localhost", ca: t3.upstream.caPem },
            () => {
              resolve(new X509Certificate(tls.getPeerCertificate(true).raw));
              tls.destroy();
            },
          );
          tls.on("error", reject);
        });
        expect(cert.issuer).toMatch(/testkit upstream CA/);
        // Only the four pre-minted exact Copilot hosts: nothing was minted for the tunnel.
        expect(t3.gateway.certs.stats.mints).toBe(4);
      } finally {
        await agent.close();
        await t3.close();
      }
    });

    it("refuses a tunnel whose TLS server name is an intercepted host (fronting through an IP)", async () => {
      const r = await connectThroughProxy(t.port, `127.0.0.1:${echo.port}`);
      expect(r.statusCode).toBe(200);
      const err = await new Promise<Error>((resolve) => {
        const tls = tlsConnect({
          socket: r.socket,
          servername: "api.githubcopilot.com",
          rejectUnauthorized: false,
        });
        tls.on("error", resolve);
        tls.on("secureConnect", () => resolve(new Error("handshake unexpectedly succeeded")));
      });
      expect(err.message).toMatch(/access denied/i);
      await vi.waitFor(() =>
        expect(
          t.gateway.metrics.value("copilot_audit_refusals_total", { code: "fronting_refused" }),
        ).toBeGreaterThanOrEqual(1),
      );
      expect(t.logs.some((l) => l.code === "fronting_refused" && l.sni === "api.githubcopilot.com")).toBe(
        true,
      );
    });

    it("refuses a ClientHello that stalls half-way (it could hide its SNI)", async () => {
      const r = await connectThroughProxy(t.port, `127.0.0.1:${echo.port}`);
      // A TLS record header promising 200 bytes, then nothing.
      r.socket.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00]));
      const answer = await new Promise<Buffer>((resolve) => {
        let got = Buffer.alloc(0);
        r.socket.on("data", (d) => {
          got = Buffer.concat([got, d]);
        });
        r.socket.on("close", () => resolve(got));
        r.socket.resume();
      });
      // A fatal TLS alert (access_denied = 49), and nothing from the echo server.
      expect([...answer]).toEqual([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 49]);
    });
  });

  it("answers 502 for a refused or unknown upstream, before any 200", async () => {
    const closed = await tcpServer(() => undefined);
    const port = closed.port;
    await new Promise((r) => closed.server.close(r));
    const t4 = await startStack({ allowPorts: [port] });
    try {
      const refused = await connectThroughProxy(t4.port, `127.0.0.1:${port}`);
      expect(refused.statusCode).toBe(502);
      expect(refused.body).toBe(`copilot-audit: 127.0.0.1:${port} refused the connection\n`);
      const unknown = await connectThroughProxy(t4.port, "no-such-host.invalid:443");
      expect(unknown.statusCode).toBe(502);
      expect(unknown.headers["x-copilot-audit-error"]).toBe("upstream_dns");
      expect(unknown.body).toMatch(
        /^copilot-audit: cannot resolve no-such-host.invalid:443 \((ENOTFOUND|EAI_AGAIN)\)\n$/,
      );
    } finally {
      await t4.close();
    }
  });
});
