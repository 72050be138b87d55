/** Real proxy clients for tests: undici's ProxyAgent, a raw CONNECT socket, TLS through a tunnel, curl. */
import { spawn, spawnSync } from "node:child_process";
import { connect as netConnect, type Socket } from "node:net";
import { type PeerCertificate, type TLSSocket, connect as tlsConnect } from "node:tls";
import { ProxyAgent } from "undici";

export interface ProxyAgentOptions {
  /** e.g. http://127.0.0.1:8080 (credentials in the URL are sent as Basic, like Copilot does). */
  proxy: string;
  /** The gateway CA (PEM) that intercepted hosts' certificates chain to. */
  ca?: string | string[];
  /** A raw Proxy-Authorization value, e.g. `Bearer <jwt>`. */
  proxyAuthorization?: string;
}

export function proxyAgent(opts: ProxyAgentOptions): ProxyAgent {
  return new ProxyAgent({
    uri: opts.proxy,
    ...(opts.proxyAuthorization ? { token: opts.proxyAuthorization } : {}),
    requestTls: opts.ca ? { ca: opts.ca } : {},
    keepAliveTimeout: 30_000,
  });
}

export interface ConnectResult {
  socket: Socket;
  statusCode: number;
  statusLine: string;
  headers: Record<string, string>;
  /** The body of a refusal (read to the end of the response); empty for 200. */
  body: string;
}

/**
 * Sends `CONNECT target` (or any raw request head) and reads the proxy's answer. On 200 the socket is
 * returned paused with any early tunnel bytes put back: attach listeners, then `resume()` (or hand it to
 * `tls.connect({ socket })`).
 */
export function connectThroughProxy(
  proxyPort: number,
  target: string,
  opts: { headers?: Record<string, string>; head?: Buffer; raw?: string; host?: string } = {},
): Promise<ConnectResult> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ port: proxyPort, host: opts.host ?? "127.0.0.1" });
    const lines = [`CONNECT ${target} HTTP/1.1`, `Host: ${target}`];
    for (const [k, v] of Object.entries(opts.headers ?? {})) lines.push(`${k}: ${v}`);
    socket.once("connect", () => {
      socket.write(opts.raw ?? `${lines.join("\r\n")}\r\n\r\n`);
      if (opts.head) socket.write(opts.head);
    });
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = buf.subarray(0, end).toString("latin1").split("\r\n");
      const statusLine = head[0] ?? "";
      const statusCode = Number(statusLine.split(" ")[1]);
      const headers: Record<string, string> = {};
      for (const l of head.slice(1)) {
        const i = l.indexOf(":");
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      const rest = buf.subarray(end + 4);
      if (statusCode === 200) {
        socket.removeListener("data", onData);
        // Pause first: a flowing socket would emit the unshifted bytes to no listener.
        socket.pause();
        if (rest.length > 0) socket.unshift(rest);
        resolve({ socket, statusCode, statusLine, headers, body: "" });
        return;
      }
      socket.removeListener("data", onData);
      const length = Number(headers["content-length"] ?? Number.NaN);
      let body = rest;
      const done = () => resolve({ socket, statusCode, statusLine, headers, body: body.toString("utf8") });
      if (Number.isFinite(length) && body.length >= length) return done();
      socket.on("data", (c: Buffer) => {
        body = Buffer.concat([body, c]);
        if (Number.isFinite(length) && body.length >= length) done();
      });
      socket.once("close", done);
    };
    socket.on("data", onData);
    socket.once("error", reject);
    socket.once("close", () => {
      if (buf.indexOf("\r\n\r\n") < 0)
        reject(new Error(`proxy closed the connection without an answer (${buf.length} bytes)`));
    });
  });
}

export interface TlsThroughProxy {
  socket: TLSSocket;
  certificate: PeerCertificate;
  alpnProtocol: string | false | null;
  authorized: boolean;
  authorizationError: Error | null;
}

/** CONNECT, then a TLS handshake inside the tunnel. Does not reject on an untrusted certificate: inspect `authorized`. */
export async function tlsThroughProxy(
  proxyPort: number,
  target: string,
  opts: {
    servername?: string;
    ca?: string | string[];
    alpn?: string[];
    headers?: Record<string, string>;
  } = {},
): Promise<TlsThroughProxy> {
  const { socket, statusCode, body } = await connectThroughProxy(proxyPort, target, {
    headers: opts.headers ?? {},
  });
  if (statusCode !== 200) throw new Error(`CONNECT ${target} → ${statusCode}: ${body.trim()}`);
  const host = target.replace(/:\d+$/, "");
  return new Promise((resolve, reject) => {
    const tls = tlsConnect({
      socket,
      servername: opts.servername ?? host,
      ...(opts.ca ? { ca: opts.ca } : {}),
      ALPNProtocols: opts.alpn ?? ["h2", "http/1.1"],
      rejectUnauthorized: false,
    });
    tls.once("secureConnect", () =>
      resolve({
        socket: tls,
        certificate: tls.getPeerCertificate(true),
        alpnProtocol: tls.alpnProtocol,
        authorized: tls.authorized,
        authorizationError: tls.authorizationError ?? null,
      }),
    );
    tls.once("error", reject);
  });
}

/** Writes raw bytes to a port and returns everything the server answers until it closes (or `waitMs`). */
export function rawExchange(port: number, payload: string | Buffer, waitMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ port, host: "127.0.0.1" });
    let out = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(out.toString("utf8"));
    }, waitMs);
    socket.once("connect", () => socket.write(payload));
    socket.on("data", (c: Buffer) => {
      out = Buffer.concat([out, c]);
    });
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(out.toString("utf8"));
    });
    socket.once("error", (e) => {
      clearTimeout(timer);
      if (out.length > 0) resolve(out.toString("utf8"));
      else reject(e);
    });
  });
}

let curlPresent: boolean | null = null;
export function curlAvailable(): boolean {
  curlPresent ??= spawnSync("curl", ["--version"], { stdio: "ignore" }).status === 0;
  return curlPresent;
}

export function runCurl(
  args: string[],
  timeoutMs = 20_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn("curl", args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => {
      stdout += d;
    });
    p.stderr.on("data", (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}
