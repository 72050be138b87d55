import { describe, expect, it } from "vitest";
import { copyIdentity, mapClaims, readClaimPath, readGroups } from "../src/claims.js";
import { expectIdentityError } from "./helpers.js";

const ctx = {
  issuer: "https://idp.example",
  groupsClaim: "groups",
  tokenFingerprint: "ab".repeat(32),
  exp: 2_000_000_000,
};

describe("readClaimPath", () => {
  const claims = {
    groups: ["a"],
    "cognito:groups": ["c"],
    realm_access: { roles: ["r1", "r2"] },
    "https://example.com/roles": ["ns"],
    "a.b": "literal",
    a: { b: "nested" },
  };
  it.each([
    ["groups", ["a"]],
    ["cognito:groups", ["c"]],
    ["realm_access.roles", ["r1", "r2"]],
    ["https://example.com/roles", ["ns"]],
    ["a.b", "literal"],
    ["realm_access.missing", undefined],
    ["groups.length", undefined],
    ["toString", undefined],
    ["__proto__", undefined],
  ])("%s", (path, expected) => {
    expect(readClaimPath(claims, path)).toEqual(expected);
  });
});

describe("readGroups", () => {
  it.each([
    ["groups", { groups: ["dev", "sec"] }, ["dev", "sec"]],
    ["roles", { roles: ["admin"] }, ["admin"]],
    ["cognito:groups", { "cognito:groups": ["eu-devs"] }, ["eu-devs"]],
    ["realm_access.roles", { realm_access: { roles: ["copilot"] } }, ["copilot"]],
    ["groups", { groups: [] }, []],
    ["groups", { groups: "single" }, ["single"]],
  ])("%s from %j", (path, claims, expected) => {
    expect(readGroups(claims, path)).toEqual({ groups: expected, reason: null });
  });

  it("Entra overage (_claim_names.groups) → unknown, with a reason naming Graph", () => {
    const claims = {
      _claim_names: { groups: "src1" },
      _claim_sources: { src1: { endpoint: "https://graph.windows.net/x/users/y/getMemberObjects" } },
    };
    expect(readGroups(claims, "groups")).toEqual({
      groups: null,
      reason: "token has Entra group overage (_claim_names.groups); groups must be resolved via Graph",
    });
  });

  it("Entra implicit-flow overage (hasgroups: true) → unknown", () => {
    expect(readGroups({ hasgroups: true }, "groups").groups).toBeNull();
  });

  it("group overage does not affect another claim such as roles", () => {
    expect(readGroups({ _claim_names: { groups: "src1" }, roles: ["r"] }, "roles")).toEqual({
      groups: ["r"],
      reason: null,
    });
  });

  it.each([
    [{}, 'token has no "groups" claim'],
    [{ groups: 42 }, 'claim "groups" is a number, expected an array of strings'],
    [{ groups: ["ok", 1] }, "an array with non-string members"],
    [{ groups: null }, "is null"],
  ])("%j → unknown: %s", (claims, reason) => {
    const result = readGroups(claims, "groups");
    expect(result.groups).toBeNull();
    expect(result.reason).toContain(reason);
  });
});

describe("mapClaims", () => {
  it("maps subject, email, name, groups, jti and expiry", () => {
    const identity = mapClaims(
      { sub: "u1", email: "a@x.io", preferred_username: "alice", name: "Alice", groups: ["dev"], jti: "j1" },
      ctx,
    );
    expect(identity).toEqual({
      issuer: "https://idp.example",
      subject: "u1",
      email: "a@x.io",
      name: "Alice",
      groups: ["dev"],
      groupsUnknownReason: null,
      tokenId: "j1",
      tokenFingerprint: ctx.tokenFingerprint,
      expiresAt: new Date(2_000_000_000_000),
    });
  });

  it.each([
    [{ sub: "u", preferred_username: "alice" }, "alice"],
    [{ sub: "u", upn: "alice@corp" }, "alice@corp"],
    [{ sub: "u", email: "", upn: "alice@corp" }, "alice@corp"],
    [{ sub: "u" }, null],
  ])("email falls back: %j → %s", (claims, email) => {
    expect(mapClaims(claims, ctx).email).toBe(email);
  });

  it("keeps the unknown-groups reason", () => {
    const identity = mapClaims({ sub: "u" }, ctx);
    expect(identity.groups).toBeNull();
    expect(identity.groupsUnknownReason).toBe('token has no "groups" claim');
    expect(identity.tokenId).toBeNull();
  });

  it.each([[{}], [{ sub: "" }], [{ sub: 7 }]])("missing_claim without a usable sub: %j", async (claims) => {
    await expectIdentityError(() => mapClaims(claims, ctx), "missing_claim", '"sub"');
  });

  it("copyIdentity gives an independent copy", () => {
    const original = mapClaims({ sub: "u", groups: ["a"] }, ctx);
    const copy = copyIdentity(original);
    copy.groups?.push("b");
    copy.expiresAt.setTime(0);
    expect(original.groups).toEqual(["a"]);
    expect(original.expiresAt.getTime()).toBe(2_000_000_000_000);
  });
});
