import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { GatewayError } from "./errors.js";
import { replyOnSocket } from "./reply.js";

/**
 * Answers what Node's HTTP parser rejects before a request exists (both on the proxy port and inside
 * intercepted tunnels): oversized headers → 431, timeouts → 408, garbage → 400 with the parser's reason.
 * TLS failures inside a tunnel usually mean the client does not trust our CA: say so in the log.
 */
export function handleClientError(
  err: NodeJS.ErrnoException & { reason?: string },
  socket: Duplex,
  log: Logger,
): void {
  const code = err.code ?? "";
  if (code === "ECONNRESET" || code === "EPIPE" || !socket.writable) {
    socket.destroy();
    return;
  }
  if (code.startsWith("ERR_SSL") || /alert|handshake|wrong version number/i.test(err.message)) {
    const unknownCa = /unknown ca|certificate unknown|bad certificate/i.test(err.message);
    log.info(
      { code, reason: err.reason ?? err.message },
      unknownCa
        ? "client rejected the gateway certificate: the copilot-audit CA is not trusted on that machine (see certs/README.md)"
        : "TLS handshake with the client failed",
    );
    socket.destroy();
    return;
  }
  let e: GatewayError;
  if (code === "HPE_HEADER_OVERFLOW") {
    e = new GatewayError("header_too_large", "the request headers exceed the gateway limit (maxHeaderBytes)");
  } else if (code === "ERR_HTTP_REQUEST_TIMEOUT") {
    e = new GatewayError("request_timeout", "the request headers did not arrive in time");
  } else {
    const why = (err.reason ?? err.message ?? code).replace(/^Parse Error: /, "");
    e = new GatewayError("bad_request", `malformed HTTP request: ${why}${code ? ` (${code})` : ""}`);
  }
  log.info({ code: e.code, parser: code }, e.message);
  replyOnSocket(socket, e);
}
