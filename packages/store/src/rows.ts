import { bodyColumns, captureBody } from "./body.js";
import { normalizeRow } from "./canonical.js";
import type { Row } from "./columns.js";
import { RecordInvalidError } from "./errors.js";
import { FINGERPRINT_PREFIX, type Fingerprinter } from "./fingerprint.js";
import type {
  FindingRecord,
  IdentityRecord,
  RequestRecord,
  ResponseRecord,
  SessionClosedRecord,
  SessionOpenedRecord,
} from "./records.js";
import { headerValue, sanitizeHeaders, sanitizeTokenBody } from "./sanitize.js";
import type { AuditTable } from "./schema.js";

// Records → normalised rows (not yet chained). Everything secret-bearing goes through sanitize.ts here.

export interface RowContext {
  readonly fp: Fingerprinter;
  readonly sensitiveHeaders: ReadonlySet<string>;
  readonly bodyCapBytes: number;
}

/** A row waiting for its place in the chain; `fill` completes columns that depend on its seq. */
export interface PendingRow {
  readonly table: AuditTable;
  readonly row: Row;
  readonly fill?: (seq: number, prevHash: string, row: Row) => void;
  /** sha256 (hex) of large column values already computed while building the row (write side only). */
  readonly knownHashes?: Readonly<Record<string, string>>;
}

/** When the whole body is stored, its full-body sha256 is also the sha256 of the stored value. */
function bodyHashes(body: {
  body_text: string | null;
  body_bytes: Uint8Array | null;
  body_sha256: string;
  body_truncated: boolean;
}): Record<string, string> | undefined {
  if (body.body_truncated) return undefined;
  if (body.body_text !== null) return { body_text: body.body_sha256 };
  if (body.body_bytes !== null) return { body_bytes: body.body_sha256 };
  return undefined;
}

function checkedFingerprint(value: string | null | undefined, what: string): string | null {
  if (value === null || value === undefined) return null;
  if (!value.startsWith(FINGERPRINT_PREFIX)) {
    throw new RecordInvalidError(
      `${what}: expected a fingerprint (${FINGERPRINT_PREFIX}…); pass the raw value instead`,
    );
  }
  return value;
}

/** A token fingerprint: ours (hmac-sha256:…), or a plain sha256 hex digest (identity's), stored as sha256:…. */
function tokenFingerprint(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  if (/^[0-9a-f]{64}$/i.test(value)) return `sha256:${value.toLowerCase()}`;
  if (/^sha256:[0-9a-f]{64}$/.test(value)) return value;
  return checkedFingerprint(value, "identity.tokenFingerprint");
}

function identityColumns(id: IdentityRecord | null | undefined, fp: Fingerprinter): Record<string, unknown> {
  return {
    identity_issuer: id?.issuer ?? null,
    identity_subject: id?.subject ?? null,
    identity_email: id?.email ?? null,
    identity_groups: id?.groups ? [...id.groups] : null,
    identity_token_fingerprint: id?.token ? fp(id.token) : tokenFingerprint(id?.tokenFingerprint),
  };
}

function findingRows(
  findings: readonly FindingRecord[] | undefined,
  exchangeId: string,
  recordedAt: Date,
  direction: "request" | "response",
  fp: Fingerprinter,
): PendingRow[] {
  return (findings ?? []).map((f) => ({
    table: "findings" as const,
    row: normalizeRow("findings", {
      exchange_id: exchangeId,
      recorded_at: recordedAt,
      direction,
      rule_id: f.ruleId,
      location: f.location,
      offset: f.offset,
      length: f.length,
      fingerprint:
        f.secret !== undefined ? fp(f.secret) : checkedFingerprint(f.fingerprint, "finding.fingerprint"),
      action: f.action,
    }),
  }));
}

export function sessionOpenedRows(r: SessionOpenedRecord, ctx: RowContext): PendingRow[] {
  return [
    {
      table: "sessions",
      row: normalizeRow("sessions", {
        id: r.id,
        opened_at: r.openedAt ?? new Date(),
        client_address: r.clientAddress,
        client_port: r.clientPort,
        target_host: r.targetHost,
        target_port: r.targetPort,
        mode: r.mode,
        sni: r.sni ?? null,
        refusal_status: r.refusal?.status ?? null,
        refusal_code: r.refusal?.code ?? null,
        refusal_details: r.refusal?.details ?? null,
        ...identityColumns(r.identity, ctx.fp),
      }),
    },
  ];
}

export function sessionClosedRows(r: SessionClosedRecord): PendingRow[] {
  return [
    {
      table: "session_ends",
      row: normalizeRow("session_ends", {
        session_id: r.sessionId,
        closed_at: r.closedAt ?? new Date(),
        bytes_from_client: r.bytesFromClient,
        bytes_to_client: r.bytesToClient,
        close_reason: r.closeReason,
        exchange_count: r.exchangeCount,
      }),
    },
  ];
}

export function requestRows(r: RequestRecord, ctx: RowContext): PendingRow[] {
  const requestedAt = r.requestedAt ?? new Date();
  const body = bodyColumns(captureBody(r.body, ctx.bodyCapBytes));
  const hashes = bodyHashes(body);
  const main: PendingRow = {
    ...(hashes ? { knownHashes: hashes } : {}),
    table: "exchanges",
    row: normalizeRow("exchanges", {
      id: r.id,
      session_id: r.sessionId,
      session_seq: r.sessionSeq,
      requested_at: requestedAt,
      method: r.method,
      scheme: r.scheme,
      host: r.host,
      port: r.port,
      path: r.path,
      endpoint_kind: r.endpointKind,
      model: r.model ?? null,
      client_request_id: r.clientRequestId ?? headerValue(r.headers, "x-request-id") ?? null,
      ...identityColumns(r.identity, ctx.fp),
      headers: sanitizeHeaders(r.headers, ctx.sensitiveHeaders, ctx.fp),
      ...body,
      prompt_text: r.promptText ?? null,
    }),
  };
  return [main, ...findingRows(r.findings, r.id, requestedAt, "request", ctx.fp)];
}

export function responseRows(
  r: ResponseRecord,
  endpointKind: string | undefined,
  ctx: RowContext,
): PendingRow[] {
  const endedAt = r.endedAt ?? new Date();
  let captured = captureBody(r.body, ctx.bodyCapBytes);
  if (endpointKind === "token") captured = sanitizeTokenBody(captured, ctx.fp);
  const body = bodyColumns(captured);
  const hashes = bodyHashes(body);
  const main: PendingRow = {
    ...(hashes ? { knownHashes: hashes } : {}),
    table: "exchange_responses",
    row: normalizeRow("exchange_responses", {
      exchange_id: r.exchangeId,
      responded_at: r.respondedAt ?? null,
      ended_at: endedAt,
      status: r.status,
      headers: r.headers === null ? null : sanitizeHeaders(r.headers, ctx.sensitiveHeaders, ctx.fp),
      ...body,
      completion_text: r.completionText ?? null,
      ttfb_ms: r.ttfbMs ?? null,
      duration_ms: r.durationMs ?? null,
      outcome: r.outcome,
      error_code: r.errorCode ?? null,
      error_details: r.errorDetails ?? null,
    }),
  };
  return [main, ...findingRows(r.findings, r.exchangeId, endedAt, "response", ctx.fp)];
}
