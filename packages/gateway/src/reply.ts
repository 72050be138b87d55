import type { ServerResponse } from "node:http";
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { ERROR_CODE_HEADER, errorBody, type GatewayError } from "./errors.js";

/**
 * Writes a refusal on a raw socket (CONNECT answers, client errors before a request exists) and closes it.
 * Used where there is no ServerResponse.
 */
export function replyOnSocket(socket: Duplex, err: GatewayError): void {
  if (socket.destroyed || !socket.writable) return;
  const body = errorBody(err.message);
  const lines = [
    `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? "Error"}`,
    "Content-Type: text/plain; charset=utf-8",
    `Content-Length: ${Buffer.byteLength(body)}`,
    `${ERROR_CODE_HEADER}: ${err.code}`,
    "Connection: close",
  ];
  for (const [name, value] of Object.entries(err.headers)) {
    for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
  }
  socket.end(`${lines.join("\r\n")}\r\n\r\n${body}`);
}

/** Writes a refusal on a ServerResponse. `close` asks the client to drop the connection afterwards. */
export function replyOnResponse(res: ServerResponse, err: GatewayError, close = false): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = errorBody(err.message);
  res.statusCode = err.status;
  res.setHeader("content-type", "text/plain; charset=utf-8");
  res.setHeader("content-length", Buffer.byteLength(body));
  res.setHeader(ERROR_CODE_HEADER, err.code);
  for (const [name, value] of Object.entries(err.headers)) res.setHeader(name, value);
  if (close) res.setHeader("connection", "close");
  res.end(body);
  if (close) res.once("finish", () => res.socket?.end());
}
