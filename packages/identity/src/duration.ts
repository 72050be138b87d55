import { IdentityError } from "./errors.js";

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };
const WHOLE = /^(?:\d+[smhd])+$/;
const PART = /(\d+)([smhd])/g;

/**
 * Parses a positive duration such as "8h", "30m", "90s", "7d" or "1h30m" into seconds.
 * A bare number, an unknown unit, zero or anything else throws {@link IdentityError} `config_invalid`.
 */
export function parseDuration(text: string): number {
  const compact = String(text).trim().toLowerCase();
  if (!WHOLE.test(compact)) {
    throw new IdentityError(
      "config_invalid",
      `invalid duration "${String(text).slice(0, 40)}": expected a number with a unit s, m, h or d (e.g. 90s, 30m, 8h, 7d, 1h30m)`,
    );
  }
  let seconds = 0;
  for (const [, amount, unit] of compact.matchAll(PART)) {
    seconds += Number(amount) * (UNIT_SECONDS[unit ?? "s"] ?? 1);
  }
  if (seconds <= 0 || !Number.isSafeInteger(seconds)) {
    throw new IdentityError("config_invalid", `invalid duration "${compact}": must be greater than zero`);
  }
  return seconds;
}
