import { createResponseRedactor, type Detector, type RedactMode } from "@copilot-audit/redact";
import { ERROR_CODE_HEADER } from "../errors.js";
import type { Exchange } from "../exchange.js";
import { maskHeaderSecrets } from "../header-secrets.js";
import { getHeader } from "../headers.js";
import type { Stage } from "../stage.js";

export interface RedactResponseOptions {
  detector: Detector;
  mode: RedactMode;
  fingerprint: (secret: string) => string;
  maxHoldBytes?: number;
  maxBufferBytes?: number;
  maxEventBytes?: number;
}

/**
 * Secrets in completions never reach the editor. SSE streams are rewritten event by event: text that
 * cannot start a secret goes out at once, a tail that could is held until decided, so no fragment of a
 * secret is ever sent. Non-stream bodies are redacted whole. Also assembles the completion text for the
 * record (whatever the mode, `off` included).
 */
export function redactResponse(opts: RedactResponseOptions): Stage {
  return {
    name: "redactResponse",
    scope: "audited",
    explain: () =>
      `secrets in responses (streamed too): ${opts.mode}; the completion text is assembled for the record`,
    onResponseHeaders(ex: Exchange) {
      const raw = ex.upstreamResponse?.rawHeaders ?? [];
      const headers = maskHeaderSecrets(raw, "response", opts.detector, opts.fingerprint);
      ex.recordResponseHeaders = headers.pairs;
      ex.responseHeaderFindings = headers.findings;
      return undefined;
    },
    responseBody(ex: Exchange) {
      const redactor = createResponseRedactor(
        { kind: ex.endpoint, contentType: getHeader(ex.responseHeaders, "content-type") },
        {
          detector: opts.detector,
          mode: opts.mode,
          fingerprint: opts.fingerprint,
          record: opts.mode === "report",
          ...(opts.maxHoldBytes ? { maxHoldBytes: opts.maxHoldBytes } : {}),
          ...(opts.maxBufferBytes ? { maxBufferBytes: opts.maxBufferBytes } : {}),
          ...(opts.maxEventBytes ? { maxEventBytes: opts.maxEventBytes } : {}),
        },
      );
      ex.responseRedactor = redactor;
      ex.recordFromRedactor = opts.mode === "report";
      return {
        push: (chunk) => redactor.push(chunk),
        end: () => {
          const rest = redactor.end();
          if (redactor.blocked && !redactor.isStream && !ex.res.headersSent) {
            // A non-stream body is held whole, so the status can still say what happened.
            ex.res.statusCode = 403;
            ex.res.setHeader(ERROR_CODE_HEADER, "secret_blocked");
            ex.res.setHeader("content-type", "application/json");
          }
          return rest;
        },
      };
    },
  };
}
