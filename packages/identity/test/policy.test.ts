import { describe, expect, it } from "vitest";
import type { Identity } from "../src/claims.js";
import { type AccessPolicy, evaluateAccess, isApprover } from "../src/policy.js";

function person(groups: string[] | null, reason: string | null = null): Identity {
  return {
    issuer: "https://idp.example",
    subject: "u1",
    email: "alice@example.com",
    name: null,
    groups,
    groupsUnknownReason: groups === null ? (reason ?? 'token has no "groups" claim') : null,
    tokenId: null,
    tokenFingerprint: "f".repeat(64),
    expiresAt: new Date(2_000_000_000_000),
  };
}

const open: AccessPolicy = { allowGroups: [], approvalGroups: [], approverGroups: [] };
const overage = "token has Entra group overage (_claim_names.groups); groups must be resolved via Graph";

describe("evaluateAccess", () => {
  it("no allowGroups: any verified identity, even with unknown groups", () => {
    expect(evaluateAccess(open, person(null))).toEqual({ allowed: true, needsApproval: false });
    expect(evaluateAccess(open, person([]))).toEqual({ allowed: true, needsApproval: false });
  });

  it("allows a member of any allowed group", () => {
    const policy = { ...open, allowGroups: ["copilot", "sec"] };
    expect(evaluateAccess(policy, person(["dev", "sec"]))).toEqual({ allowed: true, needsApproval: false });
  });

  it("denies a non-member with a message naming the missing groups and the token's groups", () => {
    const decision = evaluateAccess({ ...open, allowGroups: ["copilot-users"] }, person(["dev", "ops"]));
    expect(decision).toMatchObject({ allowed: false, code: "group_not_allowed" });
    if (decision.allowed) throw new Error("unreachable");
    expect(decision.message).toContain("alice@example.com is not in any group allowed");
    expect(decision.message).toContain("required: one of copilot-users");
    expect(decision.message).toContain("token groups: dev, ops");
  });

  it("denies an identity with no groups at all", () => {
    const decision = evaluateAccess({ ...open, allowGroups: ["copilot-users"] }, person([]));
    expect(decision).toMatchObject({ allowed: false, code: "group_not_allowed" });
    if (!decision.allowed) expect(decision.message).toContain("token groups: (none)");
  });

  it("fails closed on Entra overage with a message that says so", () => {
    const decision = evaluateAccess({ ...open, allowGroups: ["copilot-users"] }, person(null, overage));
    expect(decision).toMatchObject({ allowed: false, code: "groups_unknown" });
    if (decision.allowed) throw new Error("unreachable");
    expect(decision.message).toContain("copilot-users");
    expect(decision.message).toContain("are unknown");
    expect(decision.message).toContain("Entra group overage");
  });

  it("matches group names exactly (case-sensitive)", () => {
    expect(evaluateAccess({ ...open, allowGroups: ["Dev"] }, person(["dev"])).allowed).toBe(false);
  });

  it("members of approvalGroups need approval, others do not", () => {
    const policy = { ...open, approvalGroups: ["contractors"] };
    expect(evaluateAccess(policy, person(["contractors"]))).toEqual({
      allowed: true,
      needsApproval: true,
      reason: "member of contractors, which needs approval",
    });
    expect(evaluateAccess(policy, person(["staff"]))).toEqual({ allowed: true, needsApproval: false });
  });

  it("unknown groups with only an approval rule: allowed but approval required (fail closed for that rule)", () => {
    const decision = evaluateAccess({ ...open, approvalGroups: ["contractors"] }, person(null, overage));
    expect(decision).toMatchObject({ allowed: true, needsApproval: true });
    if (decision.allowed) expect(decision.reason).toContain("Entra group overage");
  });

  it("allow and approval rules combine", () => {
    const policy = { ...open, allowGroups: ["copilot"], approvalGroups: ["interns"] };
    expect(evaluateAccess(policy, person(["copilot", "interns"]))).toMatchObject({
      allowed: true,
      needsApproval: true,
    });
    expect(evaluateAccess(policy, person(["interns"]))).toMatchObject({
      allowed: false,
      code: "group_not_allowed",
    });
  });

  it("lists at most 10 groups in a message", () => {
    const many = Array.from({ length: 25 }, (_, i) => `g${i}`);
    const decision = evaluateAccess({ ...open, allowGroups: ["x"] }, person(many));
    if (decision.allowed) throw new Error("unreachable");
    expect(decision.message).toContain("g9, … (25 in all)");
    expect(decision.message).not.toContain("g10");
  });
});

describe("isApprover", () => {
  const policy = { ...open, approverGroups: ["sec-leads"] };
  it("true for a member of approverGroups", () => {
    expect(isApprover(policy, person(["dev", "sec-leads"]))).toBe(true);
  });
  it("false for a non-member, for unknown groups and when no approver group is configured", () => {
    expect(isApprover(policy, person(["dev"]))).toBe(false);
    expect(isApprover(policy, person(null, overage))).toBe(false);
    expect(isApprover(open, person(["sec-leads"]))).toBe(false);
  });
});
