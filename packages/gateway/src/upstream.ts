import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
} from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { Socket } from "node:net";
import { createSecureContext, rootCertificates, type SecureContext } from "node:tls";
import { type Authority, formatAuthority } from "./authority.js";
import { GatewayError } from "./errors.js";

export interface UpstreamOptions {
  /** HOST → where to connect instead (TLS still verifies HOST), like `curl --resolve`. */
  resolve?: ReadonlyMap<string, { host: string; port: number }>;
  /** Extra trusted CAs (PEM) for upstream TLS, added to Node's bundled roots. */
  extraCaPems?: readonly string[];
  connectTimeoutMs?: number;
  /** From the end of the request to the response head. */
  headersTimeoutMs?: number;
  /** Longest silence while the response body streams. */
  idleTimeoutMs?: number;
}

export interface UpstreamRequest {
  scheme: "https" | "http";
  /** The CONNECT target (or absolute-URI authority): the one place upstream traffic may go. */
  target: Authority;
  method: string;
  path: string;
  headers: OutgoingHttpHeaders;
  /** A buffered body, or a stream to pipe, or nothing. */
  body: Buffer | NodeJS.ReadableStream | null;
  /** Receives a function that cancels the request (used when the client goes away). */
  onCancel?: (cancel: (() => void) | null) => void;
}

/** `--resolve` entries: exact hosts or `*.domain` patterns → where to connect instead. */
export type ResolveMap = ReadonlyMap<string, { host: string; port: number }>;

/** Where a connection for `target` really goes, after --resolve (exact entries win over wildcards). */
export function dialAddress(
  resolve: ResolveMap | undefined,
  target: Authority,
): { host: string; port: number } {
  if (resolve && resolve.size > 0) {
    const exact = resolve.get(target.host);
    if (exact) return exact;
    for (const [pattern, dest] of resolve) {
      if (
        pattern.startsWith("*.") &&
        target.host.endsWith(pattern.slice(1)) &&
        target.host.length > pattern.length - 1
      )
        return dest;
    }
  }
  return { host: target.host, port: target.port };
}

/**
 * The upstream client. Connections are pooled with keep-alive per (target, SNI); every request is
 * pinned to its CONNECT target, never to the Host header; certificates are verified against the
 * target name, also when --resolve redirects the TCP connection.
 */
export class Upstream {
  readonly #https: HttpsAgent;
  readonly #http: HttpAgent;
  readonly #secureContext: SecureContext | undefined;
  readonly #opts: Required<Omit<UpstreamOptions, "extraCaPems" | "resolve">> &
    Pick<UpstreamOptions, "resolve">;

  constructor(opts: UpstreamOptions = {}) {
    this.#opts = {
      resolve: opts.resolve,
      connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
      headersTimeoutMs: opts.headersTimeoutMs ?? 120_000,
      idleTimeoutMs: opts.idleTimeoutMs ?? 300_000,
    };
    this.#https = new HttpsAgent({
      keepAlive: true,
      maxFreeSockets: 256,
      scheduling: "lifo",
      timeout: 60_000,
    });
    this.#http = new HttpAgent({ keepAlive: true, maxFreeSockets: 256, scheduling: "lifo", timeout: 60_000 });
    this.#secureContext =
      opts.extraCaPems && opts.extraCaPems.length > 0
        ? createSecureContext({ ca: [...rootCertificates, ...opts.extraCaPems] })
        : undefined;
  }

  /** Sends the request; resolves with the response head. Rejects with a GatewayError that says what failed. */
  send(r: UpstreamRequest): Promise<IncomingMessage> {
    const dial = dialAddress(this.#opts.resolve, r.target);
    const where = formatAuthority(r.target);
    return new Promise<IncomingMessage>((resolve, reject) => {
      let settled = false;
      let phase: "connect" | "headers" = "connect";
      const fail = (err: GatewayError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        reject(err);
      };
      const common = {
        host: dial.host,
        port: dial.port,
        method: r.method,
        path: r.path,
        headers: r.headers,
        setHost: false,
      };
      const req =
        r.scheme === "https"
          ? httpsRequest({
              ...common,
              agent: this.#https,
              // Not in @types/node's RequestOptions, but passed through to tls.connect: one context with
              // the extra roots, instead of rebuilding ~140 roots for every new connection.
              ...({ secureContext: this.#secureContext } as object),
              // SNI and certificate verification use the CONNECT target, also when --resolve points
              // the socket elsewhere (Node checks the identity against `servername`).
              ...(r.target.isIp ? {} : { servername: r.target.host }),
            })
          : httpRequest({ ...common, agent: this.#http });
      let timer = setTimeout(
        () =>
          fail(
            new GatewayError(
              "upstream_timeout",
              `could not connect to ${where} within ${this.#opts.connectTimeoutMs} ms`,
            ),
          ),
        this.#opts.connectTimeoutMs,
      );
      const armHeadersTimer = () => {
        phase = "headers";
        clearTimeout(timer);
        timer = setTimeout(
          () =>
            fail(
              new GatewayError(
                "upstream_timeout",
                `${where} sent no response within ${this.#opts.headersTimeoutMs} ms`,
              ),
            ),
          this.#opts.headersTimeoutMs,
        );
      };
      req.on("socket", (socket: Socket) => {
        socket.setNoDelay(true);
        const connected = () => armHeadersTimer();
        if (socket.connecting) socket.once(r.scheme === "https" ? "secureConnect" : "connect", connected);
        else connected(); // a pooled keep-alive socket
      });
      req.on("response", (res) => {
        if (settled) {
          res.destroy();
          return;
        }
        settled = true;
        clearTimeout(timer);
        r.onCancel?.(null);
        // Idle timeout while the body streams. ClientRequest removes its socket listener when the exchange
        // ends; a hand-rolled socket.setTimeout leaked one listener per keep-alive reuse.
        req.setTimeout(this.#opts.idleTimeoutMs, () =>
          res.destroy(
            new GatewayError(
              "upstream_timeout",
              `${where} stalled for ${this.#opts.idleTimeoutMs} ms mid-response`,
            ),
          ),
        );
        resolve(res);
      });
      req.on("error", (e) => fail(mapUpstreamError(e as NodeJS.ErrnoException, where, phase)));
      r.onCancel?.(() =>
        fail(new GatewayError("upstream_error", `request to ${where} was cancelled: the client went away`)),
      );
      if (r.body === null) req.end();
      else if (Buffer.isBuffer(r.body)) req.end(r.body);
      else {
        const body = r.body;
        body.on("error", (e) =>
          fail(
            new GatewayError("bad_request", `the request body could not be read: ${(e as Error).message}`),
          ),
        );
        body.pipe(req);
      }
    });
  }

  close(): void {
    this.#https.destroy();
    this.#http.destroy();
  }
}

const TLS_CODES = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "CERT_SIGNATURE_FAILURE",
  "CERT_REVOKED",
  "CERT_UNTRUSTED",
  "HOSTNAME_MISMATCH",
]);

/** Turns a socket/TLS error into the precise refusal a developer can act on. */
export function mapUpstreamError(
  e: NodeJS.ErrnoException,
  where: string,
  phase: "connect" | "headers",
): GatewayError {
  if (e instanceof GatewayError) return e;
  const code = e.code ?? "";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_NONAME" || code === "EAI_FAIL") {
    return new GatewayError("upstream_dns", `cannot resolve ${where} (${code})`);
  }
  if (code === "ECONNREFUSED") return new GatewayError("upstream_refused", `${where} refused the connection`);
  if (code === "ETIMEDOUT") return new GatewayError("upstream_timeout", `connecting to ${where} timed out`);
  if (code === "EHOSTUNREACH" || code === "ENETUNREACH") {
    return new GatewayError("upstream_error", `${where} is unreachable (${code})`);
  }
  if (TLS_CODES.has(code) || code.startsWith("ERR_SSL") || code.startsWith("ERR_TLS")) {
    return new GatewayError(
      "upstream_tls",
      `TLS with ${where} failed: ${code}${e.message ? ` (${e.message})` : ""}`,
    );
  }
  if (code === "ECONNRESET" || code === "EPIPE" || e.message === "socket hang up") {
    return new GatewayError(
      "upstream_reset",
      phase === "connect"
        ? `${where} closed the connection during the handshake`
        : `${where} closed the connection before sending a response`,
    );
  }
  return new GatewayError("upstream_error", `${where}: ${code || e.message}`);
}
