import { ConfigError } from "./config.js";

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * A point in time for --since/--until: an ISO date or date-time (`2026-11-01`, `2026-11-01T09:00Z`) or a
 * relative age (`7d`, `24h`, `90m`, `2w`: that long before now).
 */
export function parseTime(text: string, flag: string, now = Date.now()): Date {
  const rel = /^(\d+)\s*([smhdw])$/i.exec(text.trim());
  if (rel) return new Date(now - Number(rel[1]) * (UNITS[(rel[2] as string).toLowerCase()] as number));
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim())) {
    const d = new Date(text.trim().replace(" ", "T"));
    if (!Number.isNaN(d.getTime())) return d;
  }
  throw new ConfigError(
    `invalid ${flag} "${text}": expected an ISO date (2026-11-01, 2026-11-01T09:00Z) or an age (7d, 24h, 90m)`,
  );
}
