import { evaluateAccess, type Identity } from "@copilot-audit/identity";
import { type ApprovalDeps, approvalRefusal, defaultTtlFor, isLive, requesterOf } from "../approvals.js";
import type { Exchange } from "../exchange.js";
import type { Stage, StageResult } from "../stage.js";

/**
 * Just-in-time approval: members of an approval group need a live grant before anything is forwarded.
 * The check is in memory (the store's view, refreshed within milliseconds of a decision on any replica);
 * only a subject without a request touches the database, once, to create the pending request.
 */
export function approve(deps: ApprovalDeps): Stage {
  // Whether an identity needs approval does not change during its connection.
  const needs = new WeakMap<Identity, boolean>();
  return {
    name: "approve",
    scope: "audited",
    explain: () =>
      `members of ${deps.policy.approvalGroups.join(", ")} need a live just-in-time approval: 403 approval_required names the request (created on first use)`,
    onRequestHeaders(ex: Exchange): StageResult | Promise<StageResult> {
      const identity = ex.session.identity;
      if (!identity) return undefined; // no authentication configured
      let n = needs.get(identity);
      if (n === undefined) {
        const d = evaluateAccess(deps.policy, identity);
        n = d.allowed && d.needsApproval;
        needs.set(identity, n);
      }
      if (!n) return undefined;
      const latest = deps.approvals.lookup(identity.issuer, identity.subject);
      if (isLive(latest, Date.now())) return undefined;
      if (
        latest &&
        (latest.status === "pending" || latest.status === "denied" || latest.status === "revoked")
      )
        return approvalRefusal(identity, latest);
      return createRequest(deps, identity); // none yet, or the last grant expired
    },
  };
}

async function createRequest(deps: ApprovalDeps, identity: Identity): Promise<StageResult> {
  const { request } = await deps.approvals.request(requesterOf(identity), {
    defaultTtlSeconds: defaultTtlFor(deps, identity),
  });
  // Another replica may have granted it a moment ago.
  return isLive(request, Date.now()) ? undefined : approvalRefusal(identity, request);
}
