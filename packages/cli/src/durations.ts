import { ConfigError } from "./config.js";

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** A length of time for flags such as --older-than 180d or --interval 2s: a number and ms, s, m, h, d or w. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$/i.exec(text.trim());
  if (!m)
    throw new ConfigError(
      `invalid ${flag} "${text}": expected a number and a unit: ms, s, m, h, d or w (e.g. 180d, 24h, 2s)`,
    );
  return Math.round(Number(m[1]) * (UNITS[(m[2] as string).toLowerCase()] as number));
}
