import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { REDACT_ERROR_CODES, RedactConfigError, RedactError, RuleConfigError } from "../src/errors.js";

describe("errors", () => {
  it("every error carries its stable code and is a RedactError", () => {
    const rule = new RuleConfigError("invalid_rule", "x", "rule x: bad");
    expect(rule).toBeInstanceOf(RedactError);
    expect([rule.code, rule.ruleId, rule.name]).toEqual(["invalid_rule", "x", "RuleConfigError"]);
    const config = new RedactConfigError("redact.requestMode", "expected a mode");
    expect([config.code, config.key, config.message]).toEqual([
      "invalid_config",
      "redact.requestMode",
      "redact.requestMode: expected a mode",
    ]);
    expect(new RedactError("redactor_closed", "closed").code).toBe("redactor_closed");
  });

  it("the README's error table lists exactly the codes, with the same descriptions", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const rows = [...readme.matchAll(/^\| `([a-z_]+)` \| `(\w+)` \| (.+) \|$/gm)].map((m) => [m[1], m[3]]);
    expect(Object.fromEntries(rows)).toEqual(REDACT_ERROR_CODES);
  });
});
