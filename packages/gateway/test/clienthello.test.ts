import { type AddressInfo, createServer } from "node:net";
import { connect } from "node:tls";
import { beforeAll, describe, expect, it } from "vitest";
import { parseClientHello } from "../src/clienthello.js";

/** Captures the first bytes a real Node TLS client sends. */
async function captureHello(opts: { servername?: string; alpn?: string[] }): Promise<Buffer> {
  return new Promise((resolve) => {
    const server = createServer((s) => {
      let buf = Buffer.alloc(0);
      s.on("data", (d) => {
        buf = Buffer.concat([buf, d]);
        const r = parseClientHello(buf);
        if (r.kind !== "need-more" || buf.length > 70000) {
          s.destroy();
          server.close();
          resolve(buf);
        }
      });
    });
    server.listen(0, "127.0.0.1", () => {
      const c = connect({
        port: (server.address() as AddressInfo).port,
        host: "127.0.0.1",
        ...(opts.servername ? { servername: opts.servername } : {}),
        ALPNProtocols: opts.alpn ?? ["h2", "http/1.1"],
      });
      c.on("error", () => undefined);
    });
  });
}

describe("parseClientHello", () => {
  let hello: Buffer;
  beforeAll(async () => {
    hello = await captureHello({ servername: "api.githubcopilot.com" });
  });

  it("reads SNI and ALPN from a real ClientHello", () => {
    expect(parseClientHello(hello)).toEqual({
      kind: "client-hello",
      serverName: "api.githubcopilot.com",
      alpn: ["h2", "http/1.1"],
    });
  });

  it("asks for more bytes at every split point before the end, and answers at the end", () => {
    for (let i = 0; i < hello.length; i++) {
      expect(parseClientHello(hello.subarray(0, i)).kind, `split at ${i}`).toBe("need-more");
    }
  });

  it("reassembles a ClientHello spread over several TLS records", () => {
    const body = hello.subarray(5);
    const cut = 40;
    const rec = (b: Buffer) =>
      Buffer.concat([Buffer.from([0x16, 0x03, 0x01, b.length >> 8, b.length & 0xff]), b]);
    const split = Buffer.concat([rec(body.subarray(0, cut)), rec(body.subarray(cut))]);
    expect(parseClientHello(split)).toMatchObject({
      kind: "client-hello",
      serverName: "api.githubcopilot.com",
    });
  });

  it("reports no SNI when the client sends none", async () => {
    const noSni = await captureHello({});
    expect(parseClientHello(noSni)).toMatchObject({ kind: "client-hello", serverName: null });
  });

  it("says not-tls for plain text and malformed for broken handshakes", () => {
    expect(parseClientHello(Buffer.from("GET / HTTP/1.1\r\n")).kind).toBe("not-tls");
    expect(parseClientHello(Buffer.from("SSH-2.0-OpenSSH\r\n")).kind).toBe("not-tls");
    const broken = Buffer.from(hello);
    broken[5] = 0x02; // ServerHello instead of ClientHello
    expect(parseClientHello(broken).kind).toBe("malformed");
    const truncatedExt = Buffer.from(hello);
    // Claim a huge extensions length inside an otherwise complete record.
    const ext = truncatedExt.length - 1;
    truncatedExt[ext] = 0xff;
    expect(["client-hello", "malformed"]).toContain(parseClientHello(truncatedExt).kind);
  });

  it("never throws on random input", () => {
    for (let i = 0; i < 2000; i++) {
      const len = Math.floor(Math.random() * 300);
      const b = Buffer.alloc(len);
      for (let j = 0; j < len; j++) b[j] = Math.floor(Math.random() * 256);
      if (i % 2 === 0 && len > 0) b[0] = 0x16;
      if (i % 4 === 0 && len > 1) b[1] = 3;
      expect(() => parseClientHello(b)).not.toThrow();
    }
  });
});
