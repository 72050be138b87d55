import { type Detector, type Direction, type Finding, maskFor } from "@copilot-audit/redact";

/** Headers the store always keeps as keyed fingerprints; nothing to scan in them. */
const FINGERPRINTED = new Set(["authorization", "proxy-authorization", "cookie", "set-cookie"]);

/**
 * Secrets in header values (an `X-Api-Key`, a token in a custom header) never reach the audit record: each
 * is masked in the recorded copy and reported as a finding located at `headers.<name>`. The header sent on
 * is untouched — it may well be the credential the other side needs.
 */
export function maskHeaderSecrets(
  rawHeaders: readonly string[],
  direction: Direction,
  detector: Detector,
  fingerprint: (secret: string) => string,
): { pairs: Array<[string, string]>; findings: Finding[] } {
  const pairs: Array<[string, string]> = [];
  const findings: Finding[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    let value = rawHeaders[i + 1] as string;
    if (!FINGERPRINTED.has(name.toLowerCase()) && value.length >= 8) {
      const hits = detector.scan(value);
      if (hits.length > 0) {
        let masked = "";
        let at = 0;
        for (const h of hits) {
          masked += value.slice(at, h.start) + maskFor(h.ruleId);
          at = h.end;
          findings.push({
            direction,
            ruleId: h.ruleId,
            description: h.description,
            location: `headers.${name.toLowerCase()}`,
            offset: h.start,
            length: h.end - h.start,
            fingerprint: fingerprint(value.slice(h.start, h.end)),
            action: "reported",
          });
        }
        value = masked + value.slice(at);
      }
    }
    pairs.push([name, value]);
  }
  return { pairs, findings };
}
