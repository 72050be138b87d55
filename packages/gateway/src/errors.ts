/**
 * Every refusal the gateway can answer with, in one table: stable code → HTTP status and a short title.
 * `docs/errors.md` documents the same table; a test keeps the two in step.
 */
export const ERRORS = {
  bad_request: { status: 400, title: "Malformed request" },
  connect_target_invalid: { status: 400, title: "Invalid CONNECT target" },
  unauthorized: { status: 401, title: "Authentication required" },
  port_not_allowed: { status: 403, title: "Port not allowed" },
  fronting_refused: { status: 403, title: "TLS server name does not match the CONNECT target" },
  tunnel_denied: { status: 403, title: "Tunnels to non-intercepted hosts are disabled" },
  forbidden: { status: 403, title: "Not allowed to use Copilot" },
  approval_required: { status: 403, title: "Copilot access needs approval" },
  not_approver: { status: 403, title: "Not an approver" },
  self_approval: { status: 403, title: "Cannot approve your own request" },
  secret_blocked: { status: 403, title: "Request blocked: it contains a secret" },
  not_found: { status: 404, title: "Not found" },
  approval_not_found: { status: 404, title: "No such approval request" },
  method_not_allowed: { status: 405, title: "Method not allowed" },
  approval_conflict: { status: 409, title: "Approval request cannot take this decision" },
  proxy_auth_required: { status: 407, title: "Proxy authentication required" },
  request_timeout: { status: 408, title: "Request timed out" },
  request_body_too_large: { status: 413, title: "Request body too large" },
  host_mismatch: { status: 421, title: "Host header does not match the CONNECT target" },
  header_too_large: { status: 431, title: "Request headers too large" },
  internal_error: { status: 500, title: "Internal error" },
  certificate_error: { status: 500, title: "Could not issue a certificate" },
  upgrade_not_supported: { status: 501, title: "Protocol upgrade not supported" },
  upstream_dns: { status: 502, title: "Upstream host not found" },
  upstream_refused: { status: 502, title: "Upstream refused the connection" },
  upstream_reset: { status: 502, title: "Upstream closed the connection" },
  upstream_tls: { status: 502, title: "Upstream TLS verification failed" },
  upstream_error: { status: 502, title: "Upstream error" },
  store_unavailable: { status: 503, title: "Audit store unavailable" },
  idp_unavailable: { status: 503, title: "Identity provider unavailable" },
  stage_failed: { status: 503, title: "Gateway pipeline failure" },
  shutting_down: { status: 503, title: "Gateway is shutting down" },
  upstream_timeout: { status: 504, title: "Upstream timed out" },
  loop_detected: { status: 508, title: "Request loops back to the gateway" },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** A refusal: status from the table, a one-line message for the developer, optional extra headers. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[]>>;
  constructor(code: ErrorCode, message: string, headers: Record<string, string | string[]> = {}) {
    super(message);
    this.name = "GatewayError";
    this.code = code;
    this.status = ERRORS[code].status;
    this.headers = headers;
  }
}

/** The header that carries the error code on every refusal, for scripts and for support. */
export const ERROR_CODE_HEADER = "x-copilot-audit-error";

/** The body of every refusal: one line, prefixed so a developer knows who answered. */
export function errorBody(message: string): string {
  return `copilot-audit: ${message.replace(/[\r\n]+/g, " ")}\n`;
}
