/**
 * A fake Copilot backend for tests and benchmarks: real HTTPS (its own test CA), real SSE in the four
 * stream formats with controllable splitting and per-event delays, the token exchange, plain JSON
 * endpoints, and endpoints that misbehave on purpose. Every request is logged (by X-Request-Id too) so
 * tests can check what actually reached "GitHub".
 *
 * Per-request controls (request headers):
 *   x-testkit-reply: <uri-encoded text>    the completion text (default: a friendly sentence)
 *   x-testkit-pieces: <json string[]>       exact text of each event (overrides reply + chunk)
 *   x-testkit-chunk: <n>                    characters per event (default 8)
 *   x-testkit-delay-ms: <n>                 delay before each event (default 0)
 *   x-testkit-gzip: 1                       gzip the response when the client accepts it
 *   x-testkit-status: <n>                   answer with this status (JSON error body)
 *   x-testkit-close: 1                      close the connection after a JSON answer
 */
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { gzipSync } from "node:zlib";
import { formatForPath, jsonReply, splitText, sseEvents } from "./sse.js";
import { testCa } from "./test-ca.js";

/** Hostnames the fake serves (and its certificate covers). */
export const COPILOT_TEST_HOSTS = [
  "api.githubcopilot.com",
  "api.individual.githubcopilot.com",
  "api.business.githubcopilot.com",
  "api.enterprise.githubcopilot.com",
  "proxy.individual.githubcopilot.com",
  "proxy.business.githubcopilot.com",
  "telemetry.individual.githubcopilot.com",
  "copilot-proxy.githubusercontent.com",
  "origin-tracker.githubusercontent.com",
  "copilot-telemetry.githubusercontent.com",
  "api.github.com",
] as const;

export const DEFAULT_REPLY = "Hello from the fake Copilot upstream. console.log('hi');";

export interface RecordedRequest {
  requestId: string | null;
  method: string;
  host: string | null;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  at: number;
}

export interface FakeCopilot {
  /** Port on 127.0.0.1. */
  port: number;
  /** The test CA that signed the server certificate (give it to the gateway with --upstream-ca). */
  caPem: string;
  tls: boolean;
  requests: RecordedRequest[];
  /** `--resolve` arguments sending every Copilot test host to this server. */
  resolveArgs(): string[];
  /** Open client connections (to check keep-alive reuse). */
  connections(): number;
  /** Total TCP connections accepted since start. */
  connectionsAccepted(): number;
  /** Bytes `/__testkit/bytes` has managed to write so far (it honours backpressure, so this shows how far the reader let it get). */
  bulkBytesWritten(): number;
  close(): Promise<void>;
}

export async function startFakeCopilot(
  opts: { tls?: boolean; port?: number; host?: string } = {},
): Promise<FakeCopilot> {
  const tls = opts.tls ?? true;
  const requests: RecordedRequest[] = [];
  const ca = testCa();
  const counters = { bulk: 0 };
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    void handle(req, res, requests, counters).catch((e) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end(`testkit upstream error: ${(e as Error).message}`);
    });
  };
  let server: Server;
  if (tls) {
    const { certPem, keyPem } = ca.issue([
      ...COPILOT_TEST_HOSTS,
      "*.githubcopilot.com",
      "localhost",
      "127.0.0.1",
    ]);
    server = createHttpsServer({ cert: certPem, key: keyPem, ALPNProtocols: ["http/1.1"] }, handler);
  } else {
    server = createHttpServer(handler);
  }
  server.keepAliveTimeout = 60_000;
  const sockets = new Set<Socket>();
  let accepted = 0;
  server.on(tls ? "secureConnection" : "connection", (s: Socket) => {
    accepted++;
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    caPem: ca.certPem,
    tls,
    requests,
    resolveArgs: () => COPILOT_TEST_HOSTS.flatMap((h) => ["--resolve", `${h}=127.0.0.1:${port}`]),
    connections: () => sockets.size,
    connectionsAccepted: () => accepted,
    bulkBytesWritten: () => counters.bulk,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function sendJson(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): void {
  let payload: Buffer = Buffer.from(JSON.stringify(body));
  const headers: Record<string, string | number> = {
    "content-type": "application/json",
    "x-request-id": header(req, "x-request-id") ?? "testkit",
    "x-github-request-id": "TESTKIT:0001",
  };
  if (header(req, "x-testkit-close") === "1") headers.connection = "close";
  if (header(req, "x-testkit-gzip") === "1" && /\bgzip\b/.test(header(req, "accept-encoding") ?? "")) {
    payload = gzipSync(payload);
    headers["content-encoding"] = "gzip";
  }
  headers["content-length"] = payload.length;
  res.writeHead(status, headers);
  res.end(req.method === "HEAD" ? undefined : payload);
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  log: RecordedRequest[],
  counters: { bulk: number },
): Promise<void> {
  const body = await readBody(req);
  const url = new URL(req.url ?? "/", "https://upstream.invalid");
  const path = url.pathname;
  log.push({
    requestId: header(req, "x-request-id") ?? null,
    method: req.method ?? "GET",
    host: header(req, "host") ?? null,
    path: `${path}${url.search}`,
    headers: { ...req.headers },
    body,
    at: Date.now(),
  });
  const forced = Number(header(req, "x-testkit-status") ?? 0);
  if (forced) return sendJson(req, res, forced, { error: { message: `testkit forced status ${forced}` } });

  // --- misbehaviour on purpose ---
  if (path === "/__testkit/reset-mid-stream") {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(sseEvents("chat", ["partial ", "answer "]).slice(0, 2).join(""));
    await sleep(20);
    req.socket.destroy();
    return;
  }
  if (path === "/__testkit/reset-before-response") {
    req.socket.destroy();
    return;
  }
  if (path === "/__testkit/slow-headers") {
    await sleep(Number(url.searchParams.get("ms") ?? 1000));
    return sendJson(req, res, 200, { slow: true });
  }
  if (path === "/__testkit/bytes") {
    const n = Number(url.searchParams.get("n") ?? 1 << 20);
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": n });
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let left = n;
    while (left > 0) {
      const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
      left -= part.length;
      const more = res.write(part);
      counters.bulk += part.length;
      if (!more) await new Promise((r) => res.once("drain", r));
      if (res.destroyed) return;
    }
    res.end();
    return;
  }
  if (path === "/__testkit/echo") {
    return sendJson(req, res, 200, {
      method: req.method,
      path: `${path}${url.search}`,
      headers: req.headers,
      body: body.toString("utf8"),
    });
  }
  if (path === "/__testkit/requests") {
    return sendJson(
      req,
      res,
      200,
      log.map((r) => ({ ...r, body: r.body.toString("utf8") })),
    );
  }

  // --- Copilot endpoints ---
  if (path === "/copilot_internal/v2/token") {
    const exp = Math.floor(Date.now() / 1000) + 1800;
    return sendJson(req, res, 200, {
      token: `tid=testkit;exp=${exp};sku=monthly_subscriber;proxy-ep=proxy.individual.githubcopilot.com;rt=0:${"ab".repeat(32)}`,
      expires_at: exp,
      refresh_in: 1500,
      endpoints: {
        api: "https://api.individual.githubcopilot.com",
        proxy: "https://proxy.individual.githubcopilot.com",
        telemetry: "https://telemetry.individual.githubcopilot.com",
        "origin-tracker": "https://origin-tracker.githubusercontent.com",
      },
    });
  }
  if (path === "/copilot_internal/user")
    return sendJson(req, res, 200, { login: "testkit-user", copilot_plan: "individual" });
  if (path === "/models")
    return sendJson(req, res, 200, { data: [{ id: "gpt-4o-mini", object: "model" }], object: "list" });
  if (path === "/_ping") return sendJson(req, res, 200, { ok: true });
  if (path === "/agents") return sendJson(req, res, 200, { agents: [] });
  if (path === "/telemetry") {
    return req.method === "GET"
      ? sendJson(req, res, 200, { Configs: [{ Id: "vscode", Parameters: {} }] })
      : sendJson(req, res, 200, {});
  }
  if (path === "/twirp/github.snippy.v1.SnippyAPI/Match") return sendJson(req, res, 200, { snippets: [] });

  const format = formatForPath(path);
  if (format && req.method === "POST") {
    let parsed: { stream?: boolean; model?: string } = {};
    try {
      parsed = JSON.parse(body.toString("utf8") || "{}");
    } catch {
      return sendJson(req, res, 400, { error: { message: "request body is not JSON" } });
    }
    const replyHeader = header(req, "x-testkit-reply");
    const text = replyHeader !== undefined ? decodeURIComponent(replyHeader) : DEFAULT_REPLY;
    const piecesHeader = header(req, "x-testkit-pieces");
    const pieces = piecesHeader
      ? (JSON.parse(piecesHeader) as string[])
      : splitText(text, Number(header(req, "x-testkit-chunk") ?? 8));
    const stream = parsed.stream ?? true;
    if (!stream) return sendJson(req, res, 200, jsonReply(format, pieces.join(""), parsed.model));
    const delay = Number(header(req, "x-testkit-delay-ms") ?? 0);
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      "x-request-id": header(req, "x-request-id") ?? "testkit",
      "x-github-request-id": "TESTKIT:0002",
    });
    res.flushHeaders();
    for (const event of sseEvents(format, pieces, parsed.model)) {
      if (delay > 0) await sleep(delay);
      if (res.destroyed) return;
      if (!res.write(event)) await new Promise((r) => res.once("drain", r));
    }
    res.end();
    return;
  }
  sendJson(req, res, 404, { message: "Not Found", path });
}
