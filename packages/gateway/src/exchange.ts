import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import {
  classifyEndpoint,
  type EndpointKind,
  type Finding,
  type ResponseRedactor,
} from "@copilot-audit/redact";
import type { Logger } from "pino";
import type { Authority } from "./authority.js";
import type { GatewayError } from "./errors.js";
import { uuidv7 } from "./ids.js";
import type { Session } from "./session.js";

export type Outcome = "completed" | "aborted" | "upstream_error" | "refused";

/**
 * One HTTP request/response inside an intercepted connection, as the pipeline stages see it. Stages
 * read the client's request, may edit what goes upstream (`requestHeaders`, `requestBody`) and what goes
 * back (`responseHeaders`, body transforms), and leave what they found for the recorder.
 */
export class Exchange {
  readonly id = uuidv7();
  readonly seq: number;
  readonly startedAt = new Date();
  readonly t0 = performance.now();
  readonly session: Session;
  readonly scheme: "https" | "http";
  /** Where the request goes: the CONNECT target, or the absolute-URI authority for plain HTTP. */
  readonly target: Authority;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: string;
  /** Origin-form path with query, as sent upstream. */
  readonly path: string;
  /** Copilot traffic that is recorded and masked (all paths of Copilot hosts, `/copilot_internal/` on api.github.com). */
  readonly audited: boolean;
  /** Set by a stage to close the client connection after this response (e.g. an expired token). */
  closeConnection = false;
  /** True once the client went away before the response finished. */
  clientGone = false;
  #cancel: (() => void) | null = null;
  #log: Logger | null = null;

  /** End-to-end headers to send upstream (hop-by-hop and Proxy-* already removed). */
  requestHeaders: OutgoingHttpHeaders;
  /** The request body, buffered for audited exchanges (stages may replace it); null = stream it. */
  requestBody: Buffer | null = null;
  /** Size of the body the client sent. */
  requestBodyBytes = 0;

  upstreamResponse: IncomingMessage | null = null;
  responseStatus = 0;
  responseHeaders: OutgoingHttpHeaders = {};
  /** Response body bytes received from the upstream (before decoding and redaction). */
  responseBodyBytes = 0;

  outcome: Outcome | null = null;
  /** The refusal or failure that ended the exchange, if any. */
  error: GatewayError | null = null;
  readonly timings: {
    requestBodyMs?: number;
    upstreamHeadersMs?: number;
    firstByteMs?: number;
    endMs?: number;
  } = {};
  /** When the upstream response head arrived. */
  respondedAt: Date | null = null;

  // --- what the redaction stages leave for the recorder ---
  /** Copilot endpoint kind (completions, chat, responses, messages, token, …). */
  readonly endpoint: EndpointKind;
  /** Secrets found in the request body. */
  requestFindings: readonly Finding[] = [];
  /** The decoded request body as it should be stored (masked); null = nothing read. */
  recordRequestBody: Uint8Array | null = null;
  /** Request / response headers as they should be stored (secrets masked); null = the raw headers. */
  recordRequestHeaders: Array<[string, string]> | null = null;
  recordResponseHeaders: Array<[string, string]> | null = null;
  /** Secrets found in response headers (those in the body are the redactor's). */
  responseHeaderFindings: readonly Finding[] = [];
  /** The request row is durable. */
  requestRecorded = false;
  /** The response redactor (findings, completion text, the masked copy in report mode). */
  responseRedactor: ResponseRedactor | null = null;
  /** In report mode the client gets the original bytes; the record must take the masked copy from the redactor. */
  recordFromRedactor = false;

  constructor(init: {
    session: Session;
    scheme: "https" | "http";
    target: Authority;
    req: IncomingMessage;
    res: ServerResponse;
    path: string;
    audited: boolean;
    requestHeaders: OutgoingHttpHeaders;
  }) {
    this.session = init.session;
    this.seq = init.session.nextExchangeSeq();
    this.scheme = init.scheme;
    this.target = init.target;
    this.req = init.req;
    this.res = init.res;
    this.method = init.req.method ?? "GET";
    this.path = init.path;
    this.audited = init.audited;
    this.requestHeaders = init.requestHeaders;
    this.endpoint = init.audited ? classifyEndpoint(init.target.host, init.path) : "other";
  }

  /** A child logger bound to this exchange, created on first use (most exchanges log nothing). */
  get log(): Logger {
    this.#log ??= this.session.log.child({ exchange: this.id });
    return this.#log;
  }

  /** Registers how to cancel in-flight upstream work if the client goes away (runs at once if it already has). */
  onCancel(cancel: (() => void) | null): void {
    this.#cancel = cancel;
    if (cancel && this.clientGone) cancel();
  }

  /** The request carries a body when it says so (RFC 9112 §6.3): Transfer-Encoding, or a non-zero Content-Length. */
  hasRequestBody(): boolean {
    const h = this.req.headers;
    return (
      h["transfer-encoding"] !== undefined ||
      (h["content-length"] !== undefined && h["content-length"] !== "0")
    );
  }

  /** The client hung up before the response finished. */
  markClientGone(): void {
    if (this.clientGone) return;
    this.clientGone = true;
    this.#cancel?.();
  }

  elapsedMs(): number {
    return performance.now() - this.t0;
  }
}
