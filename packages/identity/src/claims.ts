import { IdentityError } from "./errors.js";

/** A verified person. Built only from a token whose signature, issuer, audience and times were checked. */
export interface Identity {
  issuer: string;
  subject: string;
  /** `email`, else `preferred_username`, else `upn`. */
  email: string | null;
  name: string | null;
  /** null = unknown (claim absent or Entra group overage); see {@link Identity.groupsUnknownReason}. */
  groups: string[] | null;
  groupsUnknownReason: string | null;
  /** `jti`. */
  tokenId: string | null;
  /** sha256 hex of the raw token: safe to store and log; never the token itself. */
  tokenFingerprint: string;
  expiresAt: Date;
}

export type Claims = Record<string, unknown>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Reads a claim by path. The whole path is first tried as one key (so "cognito:groups" and namespaced
 * claims such as "https://example.com/roles" work); otherwise it is split on "." ("realm_access.roles").
 */
export function readClaimPath(claims: Claims, path: string): unknown {
  if (Object.hasOwn(claims, path)) return claims[path];
  let node: unknown = claims;
  for (const part of path.split(".")) {
    if (!isRecord(node) || !Object.hasOwn(node, part)) return undefined;
    node = node[part];
  }
  return node;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array with non-string members";
  return `a ${typeof value}`;
}

/** Groups from the configured claim path, or null with the reason they are unknown. */
export function readGroups(
  claims: Claims,
  groupsClaim: string,
): { groups: string[]; reason: null } | { groups: null; reason: string } {
  const claimNames = claims._claim_names;
  const overage =
    (isRecord(claimNames) && Object.hasOwn(claimNames, groupsClaim)) ||
    (groupsClaim === "groups" && claims.hasgroups === true);
  if (overage) {
    return {
      groups: null,
      reason: `token has Entra group overage (_claim_names.${groupsClaim}); groups must be resolved via Graph`,
    };
  }
  const value = readClaimPath(claims, groupsClaim);
  if (value === undefined) return { groups: null, reason: `token has no "${groupsClaim}" claim` };
  if (typeof value === "string") return { groups: [value], reason: null };
  if (Array.isArray(value) && value.every((g): g is string => typeof g === "string")) {
    return { groups: [...value], reason: null };
  }
  return {
    groups: null,
    reason: `claim "${groupsClaim}" is ${describe(value)}, expected an array of strings`,
  };
}

function optionalString(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

/** Maps verified claims to an {@link Identity}. Throws `missing_claim` when `sub` is absent. */
export function mapClaims(
  claims: Claims,
  ctx: { issuer: string; groupsClaim: string; tokenFingerprint: string; exp: number },
): Identity {
  const subject = optionalString(claims.sub);
  if (subject === null) {
    throw new IdentityError(
      "missing_claim",
      'token has no "sub" (subject) claim; the gateway needs a subject',
    );
  }
  const { groups, reason } = readGroups(claims, ctx.groupsClaim);
  return {
    issuer: ctx.issuer,
    subject,
    email:
      optionalString(claims.email) ?? optionalString(claims.preferred_username) ?? optionalString(claims.upn),
    name: optionalString(claims.name),
    groups,
    groupsUnknownReason: reason,
    tokenId: optionalString(claims.jti),
    tokenFingerprint: ctx.tokenFingerprint,
    expiresAt: new Date(ctx.exp * 1000),
  };
}

/** A copy that callers may mutate without touching a cached identity. */
export function copyIdentity(identity: Identity): Identity {
  return {
    ...identity,
    groups: identity.groups === null ? null : [...identity.groups],
    expiresAt: new Date(identity.expiresAt.getTime()),
  };
}
