import { describe, expect, it } from "vitest";
import { parseRedactConfig, REDACT_CONFIG_KEYS, REDACT_DEFAULTS } from "../src/config.js";
import { RedactConfigError, RuleConfigError } from "../src/errors.js";

function thrown(fn: () => unknown): RedactConfigError | RuleConfigError | undefined {
  try {
    fn();
  } catch (e) {
    return e as RedactConfigError;
  }
  return undefined;
}

describe("parseRedactConfig", () => {
  it("fills defaults and builds a detector", () => {
    const { config, detector } = parseRedactConfig(undefined);
    expect(config).toEqual(REDACT_DEFAULTS);
    expect(detector.ruleIds.length).toBeGreaterThan(10);
  });

  it("documents every key with a default and help", () => {
    expect(REDACT_CONFIG_KEYS.map((k) => k.key).sort()).toEqual(Object.keys(REDACT_DEFAULTS).sort());
    for (const k of REDACT_CONFIG_KEYS) {
      expect(k.help.length).toBeGreaterThan(10);
      expect(k.default).toEqual(REDACT_DEFAULTS[k.key]);
    }
  });

  it("accepts modes, limits, rules, disable and allowlist", () => {
    const { config, detector } = parseRedactConfig({
      requestMode: "block",
      responseMode: "report",
      maxHoldBytes: 4096,
      rules: [{ id: "acme", regex: "acme_[0-9]{10}" }],
      disable: ["jwt"],
      allowlist: ["^ghp_0+$"],
    });
    expect(config.requestMode).toBe("block");
    expect(config.maxHoldBytes).toBe(4096);
    expect(detector.ruleIds).toContain("acme");
    expect(detector.ruleIds).not.toContain("jwt");
  });

  it.each([
    [{ requestMode: "on" }, "redact.requestMode"],
    [{ maxHoldBytes: -1 }, "redact.maxHoldBytes"],
    [{ maxEventBytes: 1.5 }, "redact.maxEventBytes"],
    [{ disable: "jwt" }, "redact.disable"],
    [{ allowlist: [1] }, "redact.allowlist"],
    [{ rules: {} }, "redact.rules"],
    [{ rules: ["x"] }, "redact.rules[0]"],
    [{ typo: true }, "redact.typo"],
    [[], "redact"],
  ])("names the key of a wrong value: %j", (input, key) => {
    const err = thrown(() => parseRedactConfig(input));
    expect(err).toBeInstanceOf(RedactConfigError);
    expect(err?.code).toBe("invalid_config");
    expect((err as RedactConfigError).key).toBe(key);
    expect(err?.message.startsWith(key)).toBe(true);
  });

  it("reports a bad custom rule with its rule error code, prefixed by the section", () => {
    const err = thrown(() => parseRedactConfig({ rules: [{ id: "x", regex: "(" }] }, "gateway.redact"));
    expect(err).toBeInstanceOf(RuleConfigError);
    expect(err?.code).toBe("invalid_rule");
    expect(err?.message).toMatch(/^gateway\.redact: rule "x"/);
  });
});
