import type { Fingerprinter } from "./fingerprint.js";

// Signed gap declarations. A `chain_gaps` row excuses a removed seq range of a chain (retention). Being a
// verified row of some chain is not enough: anyone who can write to the database can start a chain of their
// own. So each declaration also carries a signature made with the deployment's fingerprint key (which lives
// with the gateway, not in the database): HMAC-SHA256 over the gap and the retention run that declared it,
// domain-separated from secret fingerprints. Verify honours only declarations whose signature checks out.

export interface GapFields {
  gapChainId: string;
  fromSeq: number | string;
  toSeq: number | string;
  lastHash: string;
  runId: string;
}

/** `hmac-sha256:<hex>` over the gap and its run, with the deployment key. */
export function gapSignature(fp: Fingerprinter, g: GapFields): string {
  return fp(
    `copilot-audit chain gap v1\n${g.gapChainId.toLowerCase()}\n${String(g.fromSeq)}\n${String(g.toSeq)}\n${g.lastHash}\n${g.runId.toLowerCase()}`,
  );
}

/** The `reason` text of a declaration: names the retention run and carries the signature. */
export function gapReason(runId: string, signature: string): string {
  return `retention run ${runId} signature ${signature}`;
}

const REASON = /^retention run ([0-9a-f-]{36}) signature (hmac-sha256:[0-9a-f]{64})$/;

/** Parses a declaration's reason; null when it is not a signed retention declaration. */
export function parseGapReason(reason: string): { runId: string; signature: string } | null {
  const m = REASON.exec(reason);
  return m ? { runId: m[1] as string, signature: m[2] as string } : null;
}

/** Whether a declaration's reason carries a valid signature for its fields. */
export function gapSigned(
  fp: Fingerprinter,
  g: Omit<GapFields, "runId"> & { reason: string },
): { signed: boolean; runId: string | null } {
  const parsed = parseGapReason(g.reason);
  if (!parsed) return { signed: false, runId: null };
  return {
    signed: gapSignature(fp, { ...g, runId: parsed.runId }) === parsed.signature,
    runId: parsed.runId,
  };
}
