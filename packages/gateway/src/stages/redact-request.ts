import { type Detector, type RedactMode, redactRequestBody } from "@copilot-audit/redact";
import { codingOf, decodeBody, encodeBody } from "../codings.js";
import { GatewayError } from "../errors.js";
import type { Exchange } from "../exchange.js";
import { maskHeaderSecrets } from "../header-secrets.js";
import { getHeader, setHeader } from "../headers.js";
import type { Stage } from "../stage.js";

export interface RedactRequestOptions {
  detector: Detector;
  mode: RedactMode;
  /** HMAC of a secret with the deployment key (the store's); called once per finding. */
  fingerprint: (secret: string) => string;
  /** Largest decoded body (guards against decompression bombs). */
  maxDecodedBytes: number;
}

/**
 * Secrets in prompts never leave: the (decoded) request body is scanned — the known Copilot fields and every
 * other JSON string — and each secret is replaced with `[REDACTED:<rule>]` before anything is forwarded.
 * `block` answers 403 naming the rule and where, never the secret. The masked body is what gets recorded.
 */
export function redactRequest(opts: RedactRequestOptions): Stage {
  return {
    name: "redactRequest",
    scope: "audited",
    explain: () => `secrets in request bodies: ${opts.mode} (masks read [REDACTED:<rule-id>])`,
    onRequest(ex: Exchange) {
      const headers = maskHeaderSecrets(ex.req.rawHeaders, "request", opts.detector, opts.fingerprint);
      ex.recordRequestHeaders = headers.pairs;
      ex.requestFindings = headers.findings;
      const raw = ex.requestBody;
      if (!raw || raw.length === 0) {
        ex.recordRequestBody = raw;
        return undefined;
      }
      const coding = codingOf(getHeader(ex.requestHeaders, "content-encoding"));
      if (coding === "unknown") {
        // Cannot read it, so cannot vouch for it: record the raw bytes, forward unchanged, say so.
        ex.recordRequestBody = raw;
        ex.log.warn(
          { encoding: getHeader(ex.requestHeaders, "content-encoding") },
          "request body has an unknown content-encoding: not scanned",
        );
        return undefined;
      }
      let body: Uint8Array;
      try {
        body = coding === "identity" ? raw : decodeBody(raw, coding, opts.maxDecodedBytes);
      } catch (e) {
        return new GatewayError(
          "bad_request",
          `the request body is not valid ${coding} (${(e as Error).message})`,
        );
      }
      if (opts.mode === "off") {
        ex.recordRequestBody = body;
        return undefined;
      }
      const r = redactRequestBody(
        { kind: ex.endpoint, contentType: getHeader(ex.requestHeaders, "content-type"), body },
        { detector: opts.detector, mode: opts.mode, fingerprint: opts.fingerprint },
      );
      ex.requestFindings = [...headers.findings, ...r.findings];
      ex.recordRequestBody = r.recordBody;
      if (r.blocked) {
        return new GatewayError(
          "secret_blocked",
          `nothing was sent: the request contains a secret (rule ${r.blocked.ruleId} at ${r.blocked.location}); remove it and retry`,
        );
      }
      if (r.changed) {
        ex.requestBody = coding === "identity" ? Buffer.from(r.body) : encodeBody(r.body, coding);
        setHeader(ex.requestHeaders, "content-length", ex.requestBody.length);
      }
      return undefined;
    },
  };
}
