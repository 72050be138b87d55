import { describe, expect, it } from "vitest";
import { parseDuration } from "../src/duration.js";
import { expectIdentityError } from "./helpers.js";

describe("parseDuration", () => {
  it.each([
    ["8h", 28_800],
    ["30m", 1800],
    ["90s", 90],
    ["7d", 604_800],
    ["1h30m", 5400],
    [" 2D ", 172_800],
  ])("%s → %i seconds", (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each(["", "8", "h", "8x", "-5m", "1.5h", "8 h", "0s", "tomorrow", "1h-", "99999999999999999d"])(
    "refuses %j with a config_invalid naming the expected form",
    async (text) => {
      await expectIdentityError(() => parseDuration(text), "config_invalid", "invalid duration");
    },
  );
});
