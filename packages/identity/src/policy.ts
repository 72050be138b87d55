import type { Identity } from "./claims.js";

/** Who may use intercepted hosts, who needs just-in-time approval, who approves. Group names match exactly. */
export interface AccessPolicy {
  /** Empty = any verified identity. */
  allowGroups: string[];
  /** Members need an approval before their exchanges go upstream. */
  approvalGroups: string[];
  /** Members may approve. Empty = nobody. */
  approverGroups: string[];
}

export type AccessDecision =
  | { allowed: true; needsApproval: boolean; reason?: string }
  | { allowed: false; code: "group_not_allowed" | "groups_unknown"; message: string };

const MAX_LISTED = 10;

function list(groups: readonly string[]): string {
  const shown = groups.slice(0, MAX_LISTED).join(", ");
  return groups.length > MAX_LISTED ? `${shown}, … (${groups.length} in all)` : shown;
}

function who(identity: Identity): string {
  return identity.email ?? identity.subject;
}

function intersects(groups: readonly string[], wanted: readonly string[]): string | undefined {
  return wanted.find((g) => groups.includes(g));
}

/**
 * Decides whether a verified identity may use intercepted hosts. Pure.
 * - No allowGroups: any verified identity is allowed.
 * - allowGroups and groups unknown: denied `groups_unknown` (fail closed), the message gives the reason.
 * - approvalGroups and groups unknown: allowed with `needsApproval: true` (the approval rule fails closed by
 *   requiring approval, which is the stricter outcome of that rule).
 */
export function evaluateAccess(policy: AccessPolicy, identity: Identity): AccessDecision {
  const { groups } = identity;
  if (policy.allowGroups.length > 0) {
    if (groups === null) {
      return {
        allowed: false,
        code: "groups_unknown",
        message:
          `access requires membership in one of: ${list(policy.allowGroups)}, but the groups of ${who(identity)} ` +
          `are unknown (${identity.groupsUnknownReason ?? "no groups in token"}); access is refused until they can be checked`,
      };
    }
    if (intersects(groups, policy.allowGroups) === undefined) {
      return {
        allowed: false,
        code: "group_not_allowed",
        message:
          `${who(identity)} is not in any group allowed to use Copilot through this gateway; ` +
          `required: one of ${list(policy.allowGroups)}; token groups: ${groups.length > 0 ? list(groups) : "(none)"}`,
      };
    }
  }
  if (policy.approvalGroups.length === 0) return { allowed: true, needsApproval: false };
  if (groups === null) {
    return {
      allowed: true,
      needsApproval: true,
      reason: `groups unknown (${identity.groupsUnknownReason ?? "no groups in token"}); approval required`,
    };
  }
  const match = intersects(groups, policy.approvalGroups);
  return match === undefined
    ? { allowed: true, needsApproval: false }
    : { allowed: true, needsApproval: true, reason: `member of ${match}, which needs approval` };
}

/** True when the identity's groups are known and include one of `approverGroups`. */
export function isApprover(policy: AccessPolicy, identity: Identity): boolean {
  return identity.groups !== null && intersects(identity.groups, policy.approverGroups) !== undefined;
}
