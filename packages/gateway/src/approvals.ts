/**
 * Just-in-time approvals at the gateway: what the `approve` stage and the `/api/` endpoints share — the
 * store's approvals repository, the policy (who needs approval, who approves), the default lifetime of a
 * grant, and the words a developer reads in the editor when an exchange is refused.
 */
import type { AccessPolicy, Identity } from "@copilot-audit/identity";
import type { ApprovalRequest, ApprovalRequester, Approvals } from "@copilot-audit/store";
import { GatewayError } from "./errors.js";

export interface ApprovalDeps {
  /** The repository with its in-memory view (`openApprovals` with `watch`). */
  approvals: Approvals;
  /** `approvalGroups`: members need a live approval; `approverGroups`: members decide. */
  policy: AccessPolicy;
  /** Lifetime of a grant when the approver names none (default 8 h). */
  ttlSeconds: number;
  /** Per-group lifetimes; a member of several gets the shortest. */
  ttlByGroup?: Readonly<Record<string, number>>;
}

/** The header that carries the approval request id on a refusal (also stored with the refused exchange). */
export const APPROVAL_HEADER = "x-copilot-audit-approval";

export function requesterOf(identity: Identity): ApprovalRequester {
  return {
    issuer: identity.issuer,
    subject: identity.subject,
    email: identity.email,
    groups: identity.groups,
  };
}

/** The lifetime a grant for this identity gets by default: the shortest per-group TTL that applies, else the default. */
export function defaultTtlFor(deps: ApprovalDeps, identity: Identity): number {
  let ttl: number | undefined;
  for (const g of identity.groups ?? []) {
    const t = deps.ttlByGroup?.[g];
    if (t !== undefined && (ttl === undefined || t < ttl)) ttl = t;
  }
  return ttl ?? deps.ttlSeconds;
}

/** True when a grant is live at `nowMs`. */
export function isLive(r: ApprovalRequest | undefined, nowMs: number): boolean {
  return r !== undefined && r.status === "granted" && r.expiresAt !== null && r.expiresAt.getTime() > nowMs;
}

/** "8h", "4h30m", "90s": a TTL for people. */
export function formatTtl(seconds: number): string {
  const parts: string[] = [];
  let s = seconds;
  for (const [unit, n] of [
    ["d", 86_400],
    ["h", 3_600],
    ["m", 60],
  ] as const) {
    if (s >= n) {
      parts.push(`${Math.floor(s / n)}${unit}`);
      s %= n;
    }
  }
  if (s > 0 || parts.length === 0) parts.push(`${s}s`);
  return parts.join("");
}

/** The 403 a developer sees in the editor, naming the request and what to do. */
export function approvalRefusal(identity: Identity, r: ApprovalRequest): GatewayError {
  const who = identity.email ?? identity.subject;
  const headers = { [APPROVAL_HEADER]: r.id, [`${APPROVAL_HEADER}-status`]: r.status };
  const again = 'to ask again run `copilot-audit access request --reason "…"`';
  switch (r.status) {
    case "denied":
      return new GatewayError(
        "approval_required",
        `Copilot access for ${who} was denied — request ${r.id} by ${r.decidedBy ?? "an approver"}` +
          `${r.decisionNote ? ` ("${r.decisionNote}")` : ""}; ${again}`,
        headers,
      );
    case "revoked":
      return new GatewayError(
        "approval_required",
        `Copilot access for ${who} was revoked — approval ${r.id} by ${r.revokedBy ?? "an approver"}; ${again}`,
        headers,
      );
    default:
      return new GatewayError(
        "approval_required",
        `Copilot access for ${who} needs approval — request ${r.id} is pending; ask an approver to run ` +
          `\`copilot-audit approvals grant ${r.id}\` (or POST /api/approvals/${r.id}/grant on this gateway); ` +
          'add a reason with `copilot-audit access request --reason "…"`',
        headers,
      );
  }
}
