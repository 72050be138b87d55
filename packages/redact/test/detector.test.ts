import { describe, expect, it } from "vitest";
import { BUILTIN_RULE_IDS, createDetector } from "../src/detector.js";
import { RuleConfigError } from "../src/errors.js";
import { Gen } from "./corpus.js";

const g = new Gen(11);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as RuleConfigError).code;
  }
  return undefined;
}

describe("createDetector: custom rules", () => {
  const acme = { id: "acme-key", description: "ACME deploy key", regex: "acme_[a-z0-9]{24}" };

  it("runs a custom rule after the built-ins, with anchors derived from its regex", () => {
    const d = createDetector({ rules: [acme] });
    const key = `acme_${g.pick("abcdefghijklmnopqrstuvwxyz0123456789", 24)}`;
    expect(d.scan(`deploy with ${key} now`)).toEqual([
      { ruleId: "acme-key", description: "ACME deploy key", start: 12, end: 12 + key.length },
    ]);
    expect(d.ruleIds).toEqual([...BUILTIN_RULE_IDS, "acme-key"]);
  });

  it("accepts a gitleaks-style leading (?i), a secret group, keywords, entropy and an allowlist", () => {
    const d = createDetector({
      rules: [
        {
          id: "internal-token",
          regex: "(?i)internal[_-]token\\s*=\\s*([a-z0-9]{16,})",
          keywords: ["internal"],
          entropy: 3,
          allowlist: ["^0123456789abcdef$"],
        },
      ],
      disable: ["generic-secret"],
    });
    expect(d.scan("INTERNAL_TOKEN = q8w7e6r5t4y3u2i1")).toMatchObject([
      { ruleId: "internal-token", start: 17, end: 33 },
    ]);
    expect(d.scan("internal_token = 0123456789abcdef")).toEqual([]); // allowlisted
    expect(d.scan("internal_token = aaaaaaaaaaaaaaaa")).toEqual([]); // entropy 0
  });

  it("disables built-in rules by id and lets a custom rule of the same id replace one", () => {
    const key = g.githubClassic("ghp");
    expect(createDetector({ disable: ["github-pat"] }).scan(key)).toEqual([]);
    const replaced = createDetector({
      disable: ["github-pat"],
      rules: [{ id: "github-pat", regex: "ghp_[A-Za-z0-9]{36}" }],
    });
    expect(replaced.scan(`x ${key}`)).toMatchObject([{ ruleId: "github-pat", start: 2 }]);
  });

  it("drops secrets matched by the global allowlist", () => {
    const key = g.githubClassic("ghp");
    expect(createDetector({ allowlist: [`^${key}$`] }).scan(key)).toEqual([]);
    expect(createDetector({ allowlist: ["(?i)^GHP_"] }).scan(key)).toEqual([]);
  });

  it.each([
    ["bad id", { id: "Bad Id", regex: "x" }, "invalid_rule"],
    ["bad regex", { id: "r", regex: "(" }, "invalid_rule"],
    ["bad flags", { id: "r", regex: "x", flags: "gy" }, "invalid_rule"],
    ["empty match", { id: "r", regex: "a*" }, "invalid_rule"],
    ["secretGroup out of range", { id: "r", regex: "a(b)", secretGroup: 2 }, "invalid_rule"],
    ["entropy out of range", { id: "r", regex: "ab", entropy: 99 }, "invalid_rule"],
    ["bad keywords", { id: "r", regex: "ab", keywords: [""] }, "invalid_rule"],
    ["bad allowlist entry", { id: "r", regex: "ab", allowlist: ["("] }, "invalid_allowlist"],
    ["duplicate of a built-in", { id: "jwt", regex: "ab" }, "duplicate_rule"],
  ])("refuses a rule with a %s", (_what, rule, code) => {
    expect(codeOf(() => createDetector({ rules: [rule] }))).toBe(code);
  });

  it("refuses to disable an unknown id and an invalid global allowlist entry", () => {
    expect(codeOf(() => createDetector({ disable: ["no-such-rule"] }))).toBe("unknown_rule");
    expect(codeOf(() => createDetector({ allowlist: ["["] }))).toBe("invalid_allowlist");
    const err = (() => {
      try {
        createDetector({ rules: [{ id: "r", regex: "(" }] });
      } catch (e) {
        return e as RuleConfigError;
      }
    })();
    expect(err).toBeInstanceOf(RuleConfigError);
    expect(err?.ruleId).toBe("r");
  });
});

describe("detector: overlaps, prefilter and stream steps", () => {
  const d = createDetector();

  it("merges overlapping detections, the more specific rule naming the mask", () => {
    const key = g.githubClassic("ghp");
    expect(d.scan(`token = "${key}"`)).toEqual([
      { ruleId: "github-pat", description: expect.any(String), start: 9, end: 49 },
    ]);
  });

  it("finds a keyword inside a longer keyword-like word (overlapping literal hits)", () => {
    const secret = g.password(16);
    expect(d.scan(`my_secretoken="${secret}"`)).toMatchObject([{ ruleId: "generic-secret", start: 15 }]);
  });

  it("step(): holds a possible secret prefix at the end, releases ordinary text", () => {
    expect(d.step("hello world", 0, false).hold).toBe(11);
    expect(d.step("the key is gh", 0, false).hold).toBe(11);
    expect(d.step("the key is ghp_abc", 0, false).hold).toBe(11);
    expect(d.step("the key is ghp_abc", 0, true).hold).toBe(18);
    expect(d.step("plural tasks", 0, false).hold).toBe(12);
  });

  it("step(): releases a name and holds only once a value starts", () => {
    expect(d.step("password = ", 0, false).hold).toBe(11);
    expect(d.step('password = "ab', 11, false).hold).toBe(11);
    expect(d.step('password = "ab cd', 11, false).hold).toBe(17);
  });

  it("step(): reports a decided secret and only secrets ending after `released`", () => {
    const key = g.githubClassic("gho");
    const text = `a ${key} b`;
    const s = d.step(text, 0, false);
    expect(s.detections).toMatchObject([
      { ruleId: "github-oauth", start: 2, end: 42, matchStart: 2, matchEnd: 42 },
    ]);
    expect(d.step(text, 42, false).detections).toEqual([]);
  });

  it("ruleHoldingAt() names the rule whose secret may start there", () => {
    expect(d.ruleHoldingAt("x -----BEGIN RSA PRIV", 2)).toBe("private-key");
    expect(d.ruleHoldingAt("plain", 0)).toBeUndefined();
  });
});
