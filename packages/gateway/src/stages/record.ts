import type { Finding } from "@copilot-audit/redact";
import type {
  AuditWriter,
  BodyCapture,
  FindingRecord,
  IdentityRecord,
  RequestRecord,
  ResponseRecord,
} from "@copilot-audit/store";
import { StoreUnavailableError } from "@copilot-audit/store";
import { errorBody, GatewayError } from "../errors.js";
import type { Exchange } from "../exchange.js";
import { summarizeRequest } from "../prompt.js";
import type { Session } from "../session.js";
import type { Stage } from "../stage.js";

/**
 * Durability before forwarding: the request row (identity, decoded masked body, findings) is committed —
 * or fsynced to the local spool while the database is away — before a byte goes upstream. If neither can
 * take it: 503 and nothing is sent.
 */
export function recordRequest(writer: AuditWriter): Stage {
  return {
    name: "recordRequest",
    scope: "audited",
    explain: () =>
      "the request record is durable (database commit or fsynced spool) before anything is forwarded; 503 otherwise",
    async onRequest(ex: Exchange) {
      try {
        await writer.requestStarted(requestRecord(ex));
        ex.requestRecorded = true;
        return undefined;
      } catch (e) {
        if (e instanceof StoreUnavailableError) {
          ex.requestRecorded = true; // do not try again at the end: the store is down
          return new GatewayError(
            "store_unavailable",
            `nothing was sent: the audit log cannot record this request (${e.message}); Copilot is unavailable until it can`,
          );
        }
        throw e;
      }
    },
  };
}

/**
 * The response record, written when the exchange ends (completed, aborted, failed upstream, refused):
 * status, headers, the decoded masked body as the client got it, the assembled completion text,
 * findings and timings. Exchanges refused before their request was recorded get both rows here.
 */
export function recordResponse(writer: AuditWriter): Stage {
  const captures = new WeakMap<Exchange, BodyCapture>();
  return {
    name: "recordResponse",
    scope: "audited",
    explain: () =>
      "the response record (masked body, completion text, findings, timings, outcome) when the exchange ends",
    responseBody(ex: Exchange) {
      const capture = writer.captureBody();
      captures.set(ex, capture);
      return {
        push(chunk) {
          capture.write(
            ex.recordFromRedactor && ex.responseRedactor ? ex.responseRedactor.takeRecord() : chunk,
          );
          return chunk;
        },
        end() {
          if (ex.recordFromRedactor && ex.responseRedactor) capture.write(ex.responseRedactor.takeRecord());
          return undefined;
        },
      };
    },
    async onEnd(ex: Exchange) {
      try {
        if (!ex.requestRecorded) {
          ex.requestRecorded = true;
          await writer.requestStarted(requestRecord(ex));
        }
        await writer.responseFinished(responseRecord(ex, captures.get(ex)));
      } catch (e) {
        ex.log.error(
          { err: e instanceof Error ? e.message : String(e), outcome: ex.outcome },
          "could not record the response",
        );
      }
    },
  };
}

export function identityRecord(session: Session): IdentityRecord | null {
  const id = session.identity;
  if (!id) return null;
  return {
    issuer: id.issuer,
    subject: id.subject,
    email: id.email,
    groups: id.groups,
    tokenFingerprint: session.tokenFingerprint ?? id.tokenFingerprint,
  };
}

function findingRecords(findings: readonly Finding[]): FindingRecord[] {
  return findings.map((f) => ({
    ruleId: f.ruleId,
    location: f.location,
    offset: f.offset,
    length: f.length,
    action: f.action,
    fingerprint: f.fingerprint,
  }));
}

function rawHeaderPairs(raw: readonly string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i] as string, raw[i + 1] as string]);
  return out;
}

function requestRecord(ex: Exchange): RequestRecord {
  const { model, promptText } = summarizeRequest(ex.endpoint, ex.path, ex.recordRequestBody);
  return {
    id: ex.id,
    sessionId: ex.session.id,
    sessionSeq: ex.seq,
    requestedAt: ex.startedAt,
    method: ex.method,
    scheme: ex.scheme,
    host: ex.target.host,
    port: ex.target.port,
    path: ex.path,
    endpointKind: ex.endpoint,
    model,
    identity: identityRecord(ex.session),
    headers: ex.recordRequestHeaders ?? rawHeaderPairs(ex.req.rawHeaders),
    body: ex.recordRequestBody,
    promptText,
    findings: findingRecords(ex.requestFindings),
  };
}

function responseRecord(ex: Exchange, capture: BodyCapture | undefined): ResponseRecord {
  const gatewayAnswered = ex.error !== null && (!ex.upstreamResponse || ex.outcome === "refused");
  const redactor = ex.responseRedactor;
  const headers = ex.res.headersSent || gatewayAnswered ? ex.res.getHeaders() : ex.responseHeaders;
  return {
    exchangeId: ex.id,
    respondedAt: ex.respondedAt,
    endedAt: new Date(),
    status: ex.res.headersSent || gatewayAnswered ? ex.res.statusCode : ex.responseStatus || null,
    // The upstream's headers with secrets masked when it answered; the gateway's own headers when it refused.
    headers:
      !gatewayAnswered && ex.recordResponseHeaders
        ? ex.recordResponseHeaders
        : Object.entries(headers).flatMap(([k, v]) =>
            v === undefined
              ? []
              : (Array.isArray(v) ? v : [String(v)]).map((x): [string, string] => [k, String(x)]),
          ),
    body: capture ? capture.finish() : gatewayAnswered && ex.error ? errorBody(ex.error.message) : null,
    completionText: redactor ? redactor.completionText() || null : null,
    ttfbMs: ex.timings.firstByteMs === undefined ? null : Math.round(ex.timings.firstByteMs),
    durationMs: Math.round(ex.timings.endMs ?? ex.elapsedMs()),
    outcome: ex.outcome ?? "aborted",
    errorCode: ex.error?.code ?? (redactor?.blocked ? "secret_blocked" : null),
    errorDetails:
      ex.error?.message ??
      (redactor?.blocked
        ? `response stopped: secret (rule ${redactor.blocked.ruleId} at ${redactor.blocked.location})`
        : null) ??
      (redactor?.degraded ? `redaction degraded: ${redactor.degraded}` : null),
    endpointKind: ex.endpoint,
    findings: [
      ...findingRecords(ex.responseHeaderFindings),
      ...(redactor ? findingRecords(redactor.findings) : []),
    ],
  };
}
