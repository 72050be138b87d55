import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { TLSSocket } from "node:tls";
import type { Logger } from "pino";
import { formatAuthority } from "./authority.js";
import type { CertificateCache } from "./ca/cache.js";
import { handleClientError } from "./client-errors.js";
import { GatewayError } from "./errors.js";
import { Exchange } from "./exchange.js";
import { endToEndHeaders } from "./headers.js";
import { replyOnSocket } from "./reply.js";
import { isAuditedPath } from "./routing.js";
import type { Session } from "./session.js";

export interface InterceptorOptions {
  certs: CertificateCache;
  log: Logger;
  maxHeaderBytes: number;
  headersTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** Runs one exchange (the gateway wraps the pipeline with its bookkeeping). */
  run: (ex: Exchange) => Promise<void>;
}

/**
 * Terminates TLS for intercepted CONNECTs with a leaf minted for the CONNECT target (ALPN http/1.1) and
 * feeds the decrypted stream to one in-process HTTP server. No loopback hop, no per-host servers, no
 * listening socket: the only way in is through a CONNECT the listener accepted.
 */
export class Interceptor {
  readonly server: Server;
  readonly #opts: InterceptorOptions;
  readonly #sessions = new WeakMap<Duplex, Session>();

  constructor(opts: InterceptorOptions) {
    this.#opts = opts;
    this.server = createServer({
      maxHeaderSize: opts.maxHeaderBytes,
      headersTimeout: opts.headersTimeoutMs,
      requestTimeout: 0,
      keepAliveTimeout: opts.keepAliveTimeoutMs,
      noDelay: true,
      requireHostHeader: false,
    });
    this.server.on("request", (req, res) => this.#onRequest(req, res));
    this.server.on("clientError", (err, socket) =>
      handleClientError(err, socket, this.#sessions.get(socket)?.log ?? opts.log),
    );
    this.server.on("upgrade", (req: IncomingMessage, socket: Duplex) => {
      const session = this.#sessions.get(socket);
      session?.log.info({ path: req.url }, "refused a protocol upgrade inside an intercepted tunnel");
      replyOnSocket(
        socket,
        new GatewayError(
          "upgrade_not_supported",
          "protocol upgrades (WebSocket) to Copilot hosts are not supported by copilot-audit; use HTTP",
        ),
      );
    });
  }

  /** Takes over an accepted CONNECT to an intercepted host. Resolves when the client connection closes. */
  async accept(session: Session, socket: Socket, head: Buffer): Promise<void> {
    const host = session.target.host;
    let context: Awaited<ReturnType<CertificateCache["get"]>>;
    try {
      context = this.#opts.certs.peek(host) ?? (await this.#opts.certs.get(host));
    } catch (e) {
      session.log.error({ err: e }, "minting a certificate failed");
      session.closeReason = "certificate_error";
      replyOnSocket(
        socket,
        new GatewayError(
          "certificate_error",
          `could not issue a certificate for ${host}: ${(e as Error).message}`,
        ),
      );
      return;
    }
    socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    if (head.length > 0) socket.unshift(head);
    const first = await firstByte(socket);
    if (first === null) {
      session.closeReason = "client_closed";
      return;
    }
    if (first !== 0x16) {
      session.closeReason = "not_tls";
      session.log.info("client spoke plain text inside an intercepted tunnel");
      replyOnSocket(
        socket,
        new GatewayError(
          "bad_request",
          `expected a TLS handshake for ${formatAuthority(session.target)} inside the CONNECT tunnel`,
        ),
      );
      return;
    }
    const tls = new TLSSocket(socket, {
      isServer: true,
      secureContext: context,
      ALPNProtocols: ["http/1.1"],
    });
    this.#sessions.set(tls, session);
    let handshaken = false;
    tls.once("secure", () => {
      handshaken = true;
    });
    // A client that does not trust our CA aborts the handshake itself (often without an error on our side).
    // Say so, with the client, because that is the first thing an operator needs to know.
    tls.once("close", () => {
      if (!handshaken) {
        session.log.info(
          { target: formatAuthority(session.target) },
          "client closed the connection during the TLS handshake: it probably does not trust the copilot-audit CA (see docs/ca-trust.md)",
        );
      }
    });
    await new Promise<void>((resolve) => {
      tls.once("close", () => {
        session.closeReason ??= handshaken ? "closed" : "client_tls_failed";
        resolve();
      });
      this.server.emit("connection", tls);
    });
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const session = this.#sessions.get(req.socket);
    if (!session) {
      // Cannot happen: the server has no listening socket. Refuse rather than guess a target.
      res.destroy();
      return;
    }
    let path = req.url ?? "/";
    if (!path.startsWith("/")) {
      // absolute-form inside a tunnel: keep only the path; the target stays the CONNECT target.
      try {
        const u = new URL(path);
        path = `${u.pathname}${u.search}`;
      } catch {
        path = "/";
      }
    }
    const ex = new Exchange({
      session,
      scheme: "https",
      target: session.target,
      req,
      res,
      path,
      audited: isAuditedPath(session.target.host, path),
      requestHeaders: endToEndHeaders(req.rawHeaders),
    });
    void this.#opts.run(ex);
  }

  close(): void {
    this.server.closeAllConnections();
  }
}

/** Resolves with the first byte the client sends (put back for the next reader), or null if it hangs up. */
function firstByte(socket: Socket): Promise<number | null> {
  return new Promise((resolve) => {
    const onData = (chunk: Buffer) => {
      cleanup();
      socket.pause();
      socket.unshift(chunk);
      resolve(chunk[0] ?? null);
    };
    const onGone = () => {
      cleanup();
      resolve(null);
    };
    const cleanup = () => {
      socket.removeListener("data", onData);
      socket.removeListener("end", onGone);
      socket.removeListener("close", onGone);
    };
    socket.on("data", onData);
    socket.once("end", onGone);
    socket.once("close", onGone);
  });
}
