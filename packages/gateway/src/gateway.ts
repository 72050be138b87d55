import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { networkInterfaces } from "node:os";
import type { Duplex } from "node:stream";
import type { AuditWriter } from "@copilot-audit/store";
import type { Logger } from "pino";
import { handleAdmin } from "./admin.js";
import { handleApprovalsApi } from "./approvals-api.js";
import { type AuthOptions, connectAuthorizer } from "./auth.js";
import { type Authority, formatAuthority, parseConnectTarget, printable } from "./authority.js";
import type { CertificateAuthority } from "./ca/authority.js";
import { CertificateCache } from "./ca/cache.js";
import { createLeafKey } from "./ca/leaf.js";
import { handleClientError } from "./client-errors.js";
import { GatewayError } from "./errors.js";
import { Exchange } from "./exchange.js";
import { endToEndHeaders } from "./headers.js";
import { HostMatcher } from "./hosts.js";
import { Interceptor } from "./intercept.js";
import { Metrics } from "./metrics.js";
import { renderPac } from "./pac.js";
import { buildStages, Pipeline, type RedactDeps, type StageDeps } from "./pipeline.js";
import { replyOnResponse, replyOnSocket } from "./reply.js";
import { isAuditedPath } from "./routing.js";
import { Session } from "./session.js";
import { SessionRecorder } from "./session-recorder.js";
import { runTunnel } from "./tunnel.js";
import { Upstream } from "./upstream.js";

export interface GatewayTimeouts {
  upstreamConnectMs: number;
  upstreamHeadersMs: number;
  upstreamIdleMs: number;
  clientHeadersMs: number;
  clientKeepAliveMs: number;
  tunnelIdleMs: number;
  peekMs: number;
  shutdownGraceMs: number;
}

export const DEFAULT_TIMEOUTS: GatewayTimeouts = {
  upstreamConnectMs: 10_000,
  upstreamHeadersMs: 120_000,
  upstreamIdleMs: 300_000,
  clientHeadersMs: 30_000,
  clientKeepAliveMs: 65_000,
  tunnelIdleMs: 30 * 60_000,
  peekMs: 10_000,
  shutdownGraceMs: 10_000,
};

export interface GatewayOptions {
  listen: { host: string; port: number };
  /** Host patterns to intercept (exact or `*.domain`). */
  intercept: readonly string[];
  ca: CertificateAuthority;
  logger: Logger;
  resolve?: ReadonlyMap<string, { host: string; port: number }>;
  upstreamCaPems?: readonly string[];
  /** Ports allowed in addition to 443 (CONNECT) and 80 (plain HTTP). */
  allowPorts?: readonly number[];
  leafKeyType?: "ec" | "rsa";
  maxRequestBodyBytes?: number;
  maxHeaderBytes?: number;
  timeouts?: Partial<GatewayTimeouts>;
  /** Address(es) written into /proxy.pac; default: the Host the PAC was fetched with. */
  pacProxies?: readonly string[];
  /** Identity: verified tokens at CONNECT, group policy, expiry on every exchange. Without it, no authentication. */
  auth?: AuthOptions;
  /** Secret masking in both directions (default: none). */
  redact?: RedactDeps;
  /** The audit writer: sessions and every audited exchange are recorded (default: nothing is recorded). */
  writer?: AuditWriter;
  /** Dependencies of further pipeline stages (approvals). */
  stageDeps?: Omit<StageDeps, "upstream" | "auth" | "redact" | "writer">;
  hooks?: GatewayHooks;
}

/** Connection-level extension points (identity at CONNECT, session records). */
export interface GatewayHooks {
  /** Called for every CONNECT / plain-HTTP request before anything is forwarded. Return a refusal to stop it. */
  authorize?(ctx: {
    req: IncomingMessage;
    session: Session;
  }): Promise<GatewayError | undefined> | GatewayError | undefined;
  sessionOpened?(session: Session): void;
  sessionClosed?(session: Session, stats: { bytesFromClient: number; bytesToClient: number }): void;
  /** Extra fields (and health) for /healthz. */
  health?(): { ok: boolean; details: Record<string, unknown> };
}

const CONNECT_PORTS = [443];
const HTTP_PORTS = [80];

/**
 * The gateway: one HTTP/1.1 listener that answers CONNECT (intercept or tunnel), absolute-URI requests
 * (plain-HTTP proxying) and its own endpoints (/healthz, /ca.pem, /proxy.pac, /metrics).
 */
export class Gateway {
  readonly server: Server;
  readonly metrics = new Metrics();
  readonly certs: CertificateCache;
  readonly pipeline: Pipeline;
  readonly intercept: HostMatcher;
  readonly #opts: GatewayOptions;
  readonly #timeouts: GatewayTimeouts;
  readonly #log: Logger;
  readonly #upstream: Upstream;
  readonly #interceptor: Interceptor;
  readonly #connectPorts: Set<number>;
  readonly #httpPorts: Set<number>;
  readonly #sockets = new Set<Duplex>();
  readonly #inflight = new Set<Exchange>();
  #closing = false;
  readonly #authorizeHook: GatewayHooks["authorize"];
  readonly #recorder: SessionRecorder | null;
  #startedAt = Date.now();

  constructor(opts: GatewayOptions) {
    this.#opts = opts;
    this.#timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
    this.#log = opts.logger;
    this.intercept = new HostMatcher(opts.intercept);
    this.#connectPorts = new Set([...CONNECT_PORTS, ...(opts.allowPorts ?? [])]);
    this.#httpPorts = new Set([...HTTP_PORTS, ...(opts.allowPorts ?? [])]);
    this.certs = new CertificateCache(opts.ca, createLeafKey(opts.leafKeyType ?? "ec"));
    this.#upstream = new Upstream({
      resolve: opts.resolve,
      extraCaPems: opts.upstreamCaPems,
      connectTimeoutMs: this.#timeouts.upstreamConnectMs,
      headersTimeoutMs: this.#timeouts.upstreamHeadersMs,
      idleTimeoutMs: this.#timeouts.upstreamIdleMs,
    });
    this.#authorizeHook = opts.auth ? connectAuthorizer(opts.auth) : opts.hooks?.authorize;
    this.#recorder = opts.writer ? new SessionRecorder(opts.writer, this.#log) : null;
    this.pipeline = new Pipeline(
      buildStages({
        ...opts.stageDeps,
        ...(opts.redact ? { redact: opts.redact } : {}),
        ...(opts.writer ? { writer: opts.writer } : {}),
        upstream: this.#upstream,
        ...(opts.auth
          ? { auth: { authenticator: opts.auth.authenticator, tokenHelp: opts.auth.tokenHelp } }
          : {}),
      }),
      { maxRequestBodyBytes: opts.maxRequestBodyBytes ?? 32 * 1024 * 1024 },
    );
    const maxHeaderBytes = opts.maxHeaderBytes ?? 32 * 1024;
    this.#interceptor = new Interceptor({
      certs: this.certs,
      log: this.#log,
      maxHeaderBytes,
      headersTimeoutMs: this.#timeouts.clientHeadersMs,
      keepAliveTimeoutMs: this.#timeouts.clientKeepAliveMs,
      run: (ex) => this.#run(ex),
    });
    this.server = createServer({
      maxHeaderSize: maxHeaderBytes,
      headersTimeout: this.#timeouts.clientHeadersMs,
      requestTimeout: 0,
      keepAliveTimeout: this.#timeouts.clientKeepAliveMs,
      noDelay: true,
      requireHostHeader: false,
    });
    this.server.on("connection", (s: Socket) => {
      this.#sockets.add(s);
      s.once("close", () => this.#sockets.delete(s));
    });
    this.server.on("connect", (req: IncomingMessage, socket: Socket, head: Buffer) => {
      void this.#onConnect(req, socket, head);
    });
    this.server.on("request", (req, res) => this.#onRequest(req, res));
    this.server.on("upgrade", (_req: IncomingMessage, socket: Duplex) =>
      replyOnSocket(
        socket,
        new GatewayError(
          "upgrade_not_supported",
          "protocol upgrades through the proxy are not supported; use CONNECT",
        ),
      ),
    );
    this.server.on("clientError", (err, socket) => handleClientError(err, socket, this.#log));
    this.#registerGauges();
  }

  /** Pre-mints the configured hosts, then listens. */
  async listen(): Promise<AddressInfo> {
    await this.certs.prewarm(this.intercept.exactHosts());
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.#opts.listen.port, this.#opts.listen.host, () => {
        this.server.removeListener("error", reject);
        resolve();
      });
    });
    this.#startedAt = Date.now();
    return this.address();
  }

  address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  /** Stops accepting, lets in-flight exchanges finish (up to the grace period), then closes everything. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const deadline = Date.now() + this.#timeouts.shutdownGraceMs;
    while (this.#inflight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.#interceptor.close();
    for (const s of this.#sockets) s.destroy();
    this.#upstream.close();
    await closed;
  }

  /** Runs one exchange through the pipeline, tracked for graceful shutdown and metrics. */
  async #run(ex: Exchange): Promise<void> {
    this.#inflight.add(ex);
    try {
      await this.pipeline.run(ex);
    } finally {
      this.#inflight.delete(ex);
      this.metrics.inc("copilot_audit_exchanges_total", "Exchanges through intercepted connections", {
        outcome: ex.outcome ?? "aborted",
        audited: String(ex.audited),
      });
      if (ex.error) {
        this.metrics.inc("copilot_audit_refusals_total", "Exchanges answered by the gateway itself", {
          code: ex.error.code,
        });
      }
    }
  }

  #refuse(socket: Duplex, err: GatewayError, log: Logger, target?: string): void {
    log.info({ code: err.code, status: err.status, target }, err.message);
    this.metrics.inc("copilot_audit_refusals_total", "Exchanges answered by the gateway itself", {
      code: err.code,
    });
    replyOnSocket(socket, err);
  }

  async #onConnect(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    socket.on("error", () => socket.destroy());
    socket.setNoDelay(true);
    const client = { address: socket.remoteAddress ?? "", port: socket.remotePort ?? 0 };
    const log = this.#log.child({ client: `${client.address}:${client.port}` });
    if (this.#closing)
      return this.#refuse(socket, new GatewayError("shutting_down", "the gateway is restarting; retry"), log);
    const parsed = parseConnectTarget(req.url);
    if (!parsed.ok)
      return this.#refuse(
        socket,
        new GatewayError("connect_target_invalid", parsed.reason),
        log,
        printable(req.url ?? ""),
      );
    const target = parsed.value;
    const where = formatAuthority(target);
    if (!this.#connectPorts.has(target.port)) {
      return this.#refuse(
        socket,
        new GatewayError(
          "port_not_allowed",
          `CONNECT to port ${target.port} is not allowed (allowed: ${[...this.#connectPorts].join(", ")}; an operator can add --allow-port ${target.port})`,
        ),
        log,
        where,
      );
    }
    if (this.#isSelf(target)) {
      return this.#refuse(
        socket,
        new GatewayError("loop_detected", `${where} is this gateway itself`),
        log,
        where,
      );
    }
    const mode = this.intercept.matches(target.host) ? "intercept" : "tunnel";
    const session = new Session({ client, target, mode, log });
    this.metrics.inc("copilot_audit_connections_total", "Client connections by mode", { mode });
    const refusal = await this.#authorize(req, session);
    if (refusal) {
      session.mode = "refused";
      session.closeReason = refusal.code;
      session.refusal = { status: refusal.status, code: refusal.code, details: refusal.message };
      this.#opened(session);
      this.#refuse(socket, refusal, session.log, where);
      this.#closed(session, {
        bytesFromClient: socket.bytesRead,
        bytesToClient: socket.bytesWritten,
      });
      return;
    }
    session.log.debug({ target: where, mode }, "CONNECT accepted");
    if (mode === "tunnel") {
      // The session row waits for the ClientHello, so it carries the SNI (and a fronting refusal).
      const r = await runTunnel(session, socket, head, {
        onDecided: () => this.#opened(session),
        resolve: this.#opts.resolve,
        intercept: this.intercept,
        connectTimeoutMs: this.#timeouts.upstreamConnectMs,
        idleTimeoutMs: this.#timeouts.tunnelIdleMs,
        peekTimeoutMs: this.#timeouts.peekMs,
      });
      session.closeReason = r.closeReason;
      if (session.mode === "refused") {
        this.metrics.inc("copilot_audit_refusals_total", "Exchanges answered by the gateway itself", {
          code: "fronting_refused",
        });
      }
      this.metrics.inc(
        "copilot_audit_tunnel_bytes_total",
        "Bytes through tunnels",
        { direction: "up" },
        r.bytesFromClient,
      );
      this.metrics.inc(
        "copilot_audit_tunnel_bytes_total",
        "Bytes through tunnels",
        { direction: "down" },
        r.bytesToClient,
      );
      this.#closed(session, {
        bytesFromClient: r.bytesFromClient,
        bytesToClient: r.bytesToClient,
      });
    } else {
      this.#opened(session);
      await this.#interceptor.accept(session, socket, head);
      this.#closed(session, {
        bytesFromClient: socket.bytesRead,
        bytesToClient: socket.bytesWritten,
      });
    }
  }

  #opened(session: Session): void {
    this.#recorder?.sessionOpened(session);
    this.#opts.hooks?.sessionOpened?.(session);
  }

  #closed(session: Session, stats: { bytesFromClient: number; bytesToClient: number }): void {
    this.#recorder?.sessionClosed(session, stats);
    this.#opts.hooks?.sessionClosed?.(session, stats);
  }

  async #authorize(req: IncomingMessage, session: Session): Promise<GatewayError | undefined> {
    const hook = this.#authorizeHook;
    if (!hook) return undefined;
    try {
      return await hook({ req, session });
    } catch (e) {
      session.log.error({ err: e }, "authorization failed");
      return new GatewayError("stage_failed", `authorization failed: ${(e as Error).message}`);
    }
  }

  /** Names and addresses under which a client could reach this very listener (computed at listen). */
  #selfNames: Set<string> | null = null;

  #isSelf(target: Authority): boolean {
    const addr = this.server.address() as AddressInfo | null;
    if (!addr || target.port !== addr.port) return false;
    if (!this.#selfNames) {
      const names = new Set([this.#opts.listen.host, addr.address]);
      const wildcard = addr.address === "0.0.0.0" || addr.address === "::";
      if (wildcard || isLoopback(addr.address))
        for (const n of ["localhost", "127.0.0.1", "::1"]) names.add(n);
      if (wildcard) {
        for (const list of Object.values(networkInterfaces()))
          for (const i of list ?? []) names.add(i.address);
      }
      this.#selfNames = names;
    }
    return this.#selfNames.has(target.host);
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? "/";
    if (url.startsWith("/") || this.#isSelfUrl(url)) {
      if (!url.startsWith("/")) req.url = url.replace(/^http:\/\/[^/]+/i, "") || "/";
      handleAdmin(req, res, {
        health: () => this.#health(),
        // The whole chain from the CA file: with an org intermediate, clients need its root too.
        caPem: () => this.#opts.ca.chainPem,
        pac: (host) => this.#pac(host),
        metrics: () => this.metrics.render(),
        ...(this.#opts.stageDeps?.approvals && this.#opts.auth
          ? { api: (q, s) => void this.#api(q, s) }
          : {}),
      });
      return;
    }
    void this.#proxyPlainHttp(req, res, url);
  }

  /** The approvals API: the same authenticator and policy as the proxy. */
  #api(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const approvals = this.#opts.stageDeps?.approvals;
    const auth = this.#opts.auth;
    if (!approvals || !auth) return Promise.resolve();
    return handleApprovalsApi(req, res, { ...approvals, authenticator: auth.authenticator });
  }

  /**
   * /proxy.pac names the configured proxies, else the address the client fetched it from — validated, so a
   * Host header such as `gw:8080; DIRECT` cannot inject a fail-open fallback.
   */
  #pac(host: string | undefined): string {
    if (this.#opts.pacProxies) return renderPac(this.#opts.intercept, this.#opts.pacProxies);
    const ok =
      host !== undefined &&
      /^(?:[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i.test(host);
    const addr = this.address();
    const fallback = `${this.#opts.listen.host === "0.0.0.0" || this.#opts.listen.host === "::" ? "127.0.0.1" : this.#opts.listen.host}:${addr.port}`;
    return renderPac(this.#opts.intercept, [
      ok ? (host.includes(":") && !host.endsWith("]") ? host : `${host}:${addr.port}`) : fallback,
    ]);
  }

  /** `GET http://<this gateway>/healthz` from a client whose HTTP_PROXY points at us. */
  #isSelfUrl(url: string): boolean {
    try {
      const u = new URL(url);
      const parsed = parseConnectTarget(`${u.hostname}:${u.port || "80"}`);
      return u.protocol === "http:" && parsed.ok && this.#isSelf(parsed.value);
    } catch {
      return false;
    }
  }

  /** Absolute-URI requests (`GET http://host/path`): plain-HTTP proxying through the same pipeline. */
  async #proxyPlainHttp(req: IncomingMessage, res: ServerResponse, url: string): Promise<void> {
    const client = { address: req.socket.remoteAddress ?? "", port: req.socket.remotePort ?? 0 };
    const log = this.#log.child({ client: `${client.address}:${client.port}` });
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return replyOnResponse(
        res,
        new GatewayError("bad_request", `"${printable(url)}" is not an absolute URI`),
      );
    }
    if (u.protocol !== "http:") {
      return replyOnResponse(
        res,
        new GatewayError(
          "bad_request",
          `${u.protocol}// URLs must be tunnelled with CONNECT, not sent to the proxy as requests`,
        ),
      );
    }
    const parsed = parseConnectTarget(`${u.hostname}:${u.port || "80"}`);
    if (!parsed.ok) return replyOnResponse(res, new GatewayError("bad_request", parsed.reason));
    const target = parsed.value;
    if (!this.#httpPorts.has(target.port)) {
      return replyOnResponse(
        res,
        new GatewayError(
          "port_not_allowed",
          `plain HTTP to port ${target.port} is not allowed (allowed: ${[...this.#httpPorts].join(", ")})`,
        ),
      );
    }
    if (this.#isSelf(target)) {
      return replyOnResponse(
        res,
        new GatewayError("loop_detected", `${formatAuthority(target)} is this gateway itself`),
      );
    }
    const intercepted = this.intercept.matches(target.host);
    const session = new Session({ client, target, mode: intercepted ? "intercept" : "tunnel", log });
    const refusal = await this.#authorize(req, session);
    if (refusal) {
      session.mode = "refused";
      session.closeReason = refusal.code;
      session.refusal = { status: refusal.status, code: refusal.code, details: refusal.message };
      this.#opened(session);
      replyOnResponse(res, refusal);
      this.#closed(session, { bytesFromClient: 0, bytesToClient: 0 });
      return;
    }
    this.#opened(session);
    const path = `${u.pathname}${u.search}`;
    const ex = new Exchange({
      session,
      scheme: "http",
      target,
      req,
      res,
      path,
      audited: intercepted && isAuditedPath(target.host, path),
      requestHeaders: endToEndHeaders(req.rawHeaders),
    });
    await this.#run(ex);
    session.closeReason = ex.outcome ?? "closed";
    this.#closed(session, {
      bytesFromClient: ex.requestBodyBytes,
      bytesToClient: ex.responseBodyBytes,
    });
  }

  #health(): { ok: boolean; body: Record<string, unknown> } {
    const extra = this.#opts.hooks?.health?.() ?? { ok: true, details: {} };
    if (this.#opts.writer) {
      const h = this.#opts.writer.health();
      extra.details.store = {
        database: h.database,
        spooledRows: h.spooledRows,
        queued: h.queued,
        lastError: h.lastError,
      };
    }
    if (this.#opts.stageDeps?.approvals) {
      const st = this.#opts.stageDeps.approvals.approvals.status();
      extra.details.approvals = { ...st, lastRefreshAt: st.lastRefreshAt?.toISOString() ?? null };
    }
    if (this.#opts.auth) {
      const st = this.#opts.auth.authenticator.status();
      extra.details.identity = {
        issuer: st.issuer,
        keys: st.keys,
        lastError: st.lastError,
        passthroughAuth: this.#opts.auth.passthroughAuth,
      };
    }
    return {
      ok: extra.ok && !this.#closing,
      body: {
        status: extra.ok && !this.#closing ? "ok" : "degraded",
        uptimeSeconds: Math.round((Date.now() - this.#startedAt) / 1000),
        intercept: this.#opts.intercept,
        ca: {
          subject: this.#opts.ca.certificate.subject.replace(/\n/g, ", "),
          notAfter: this.#opts.ca.notAfter.toISOString(),
        },
        ...extra.details,
      },
    };
  }

  #registerGauges(): void {
    this.metrics.collect(() => {
      this.metrics.set(
        "copilot_audit_open_connections",
        "Open client connections to the proxy port",
        this.#sockets.size,
      );
      this.metrics.set("copilot_audit_inflight_exchanges", "Exchanges in progress", this.#inflight.size);
      this.metrics.set(
        "copilot_audit_certificates_cached",
        "Minted leaf certificates in memory",
        this.certs.stats.size,
      );
      this.metrics.set(
        "copilot_audit_certificate_mints",
        "Leaf certificates minted since start",
        this.certs.stats.mints,
      );
      this.metrics.set(
        "copilot_audit_certificate_mint_seconds",
        "Time spent minting leaf certificates and building their TLS contexts since start",
        this.certs.stats.mintMs / 1000,
      );
    });
  }
}

function isLoopback(address: string): boolean {
  return address === "::1" || address.startsWith("127.") || address === "localhost";
}
