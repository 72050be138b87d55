import type { BodyInput } from "./body.js";
import type { RawHeaders } from "./sanitize.js";
import type { ResponseOutcome } from "./schema.js";

// What the gateway hands the writer. Headers and bodies are RAW: the writer fingerprints sensitive headers
// and token-exchange secrets itself. Timestamps default to "now" when omitted.

/** Who made the request, from a verified token. Every field is optional until identity is wired. */
export interface IdentityRecord {
  issuer?: string | null;
  subject?: string | null;
  email?: string | null;
  groups?: readonly string[] | null;
  /**
   * An already computed fingerprint: `hmac-sha256:…` (from `store.fingerprint`), or a plain sha256 hex digest
   * (identity's `Identity.tokenFingerprint`, stored as `sha256:<hex>`)…
   */
  tokenFingerprint?: string | null;
  /** …or the raw token, fingerprinted by the writer (never stored). */
  token?: string | null;
}

/** A client connection was accepted (CONNECT tunnel, interception, or refusal). */
export interface SessionOpenedRecord {
  id: string;
  openedAt?: Date;
  clientAddress: string;
  clientPort: number;
  targetHost: string;
  targetPort: number;
  mode: "intercept" | "tunnel" | "refused";
  sni?: string | null;
  refusal?: { status: number; code: string; details?: string | null } | null;
  identity?: IdentityRecord | null;
}

/** A client connection ended. */
export interface SessionClosedRecord {
  sessionId: string;
  closedAt?: Date;
  bytesFromClient: number;
  bytesToClient: number;
  closeReason: string;
  exchangeCount: number;
}

/** A secret found by the redactor. Give `secret` (fingerprinted here) or a ready `fingerprint`. */
export interface FindingRecord {
  ruleId: string;
  /** Where: a JSON path or header name. */
  location: string;
  offset: number;
  length: number;
  /** What was done: e.g. "masked", "blocked", "audited". */
  action: string;
  secret?: string;
  fingerprint?: string;
}

/** An intercepted request, about to go upstream. */
export interface RequestRecord {
  id: string;
  sessionId: string | null;
  /** Position of this exchange within its session (1, 2, …). */
  sessionSeq: number;
  requestedAt?: Date;
  method: string;
  scheme: "https" | "http";
  host: string;
  port: number;
  /** Path and query. */
  path: string;
  /** e.g. "completions", "chat", "responses", "messages", "token", "telemetry", "other". */
  endpointKind: string;
  model?: string | null;
  /** Defaults to the X-Request-Id request header. */
  clientRequestId?: string | null;
  identity?: IdentityRecord | null;
  headers: RawHeaders;
  /** The decoded (gzip/deflate/br undone) body. */
  body: BodyInput;
  /** The prompt text extracted by the gateway (already masked), if any. */
  promptText?: string | null;
  findings?: readonly FindingRecord[];
}

/** An exchange ended (completed, aborted, failed upstream, refused by the gateway). */
export interface ResponseRecord {
  exchangeId: string;
  /** When the response headers arrived (null when none did). */
  respondedAt?: Date | null;
  endedAt?: Date;
  status: number | null;
  headers: RawHeaders | null;
  /** The decoded response body; use `writer.captureBody()` to capture a stream without buffering it. */
  body: BodyInput;
  /** For SSE: the assembled completion text (already masked). */
  completionText?: string | null;
  ttfbMs?: number | null;
  durationMs?: number | null;
  outcome: ResponseOutcome;
  errorCode?: string | null;
  errorDetails?: string | null;
  /** Defaults to the request's endpoint kind; "token" makes the writer fingerprint the body's token fields. */
  endpointKind?: string;
  findings?: readonly FindingRecord[];
}
