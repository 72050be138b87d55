import { randomBytes } from "node:crypto";

// Approval request ids a person can read out and type: `R-` and six Crockford base32 digits (no I, L, O, U),
// 2^30 possibilities. Collisions are caught by the primary key and retried.

const DIGITS = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const ID = /^R-[0-9A-HJKMNP-TV-Z]{6}$/;

export function newApprovalId(): string {
  const b = randomBytes(4).readUInt32BE(0);
  let out = "R-";
  for (let i = 0; i < 6; i++) out += DIGITS[(b >>> (i * 5)) & 31];
  return out;
}

/**
 * The canonical form of a typed id, or null when it cannot be one: case-insensitive, `R-` optional, and the
 * Crockford look-alikes O→0, I/L→1.
 */
export function normalizeApprovalId(input: string): string | null {
  const s = input.trim().toUpperCase();
  const digits = s.startsWith("R-") ? s.slice(2) : s;
  const id = `R-${digits.replace(/O/g, "0").replace(/[IL]/g, "1")}`;
  return ID.test(id) ? id : null;
}
