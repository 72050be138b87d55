import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseRegex } from "../src/regex-ast.js";
import { full, literalPrefixes, maxLength, prefixes } from "../src/regex-prefix.js";
import { BUILTIN_RULES } from "../src/rules.js";
import { embed, positives } from "./corpus.js";

const P = (src: string, flags = "") =>
  new RegExp(`^(?:${prefixes(parseRegex(src, false).root, true)})$`, flags);

describe("prefixes()", () => {
  it("accepts exactly the prefixes of a literal", () => {
    const re = P("abc");
    expect(["", "a", "ab", "abc"].every((s) => re.test(s))).toBe(true);
    expect(["b", "abcd", "ac"].some((s) => re.test(s))).toBe(false);
  });

  it("handles alternation, classes and bounded repetition", () => {
    const re = P("(?:gh[pos]|xox)_[A-Z]{3}");
    for (const s of ["g", "gh", "ghp", "ghs_", "ghs_AB", "ghs_ABC", "xo", "xox_A"])
      expect(re.test(s), s).toBe(true);
    for (const s of ["ghx", "ghs_ABCD", "ghs_a", "x_"]) expect(re.test(s), s).toBe(false);
  });

  it("keeps a leading lookbehind (it only reads text that has arrived)", () => {
    const re = new RegExp(`(?:${prefixes(parseRegex("(?<![a-z])sk-", false).root, true)})$`);
    expect(re.exec("use sk")?.index).toBe(4);
    expect(re.test("tasks")).toBe(false);
  });

  it("accepts every prefix of every corpus match of every built-in rule (property)", () => {
    const corpus = positives();
    for (const rule of BUILTIN_RULES) {
      const flags = rule.flags ?? "";
      const { root } = parseRegex(rule.regex, flags.includes("u"));
      const pre = new RegExp(`^(?:${prefixes(root)})$`, flags);
      const scan = new RegExp(rule.regex, `${flags}g`);
      for (const p of corpus.filter((x) => x.rule === rule.id)) {
        for (const m of embed(p).text.matchAll(scan)) {
          for (let n = 0; n <= m[0].length; n++)
            expect(pre.test(m[0].slice(0, n)), `${rule.id} ${n}`).toBe(true);
        }
      }
    }
  });

  it("is a superset of the language for random strings (full matches are prefixes of themselves)", () => {
    const re = /^(?:ab|a[0-9]{1,3})c?$/;
    const pre = P("(?:ab|a[0-9]{1,3})c?");
    fc.assert(
      fc.property(fc.stringMatching(/^[abc0-9]{0,8}$/), (s) => {
        if (re.test(s)) for (let n = 0; n <= s.length; n++) expect(pre.test(s.slice(0, n))).toBe(true);
      }),
      { seed: 1, numRuns: 500 },
    );
  });
});

describe("full(), literalPrefixes(), maxLength()", () => {
  it("full() matches what the regex matches, groups made non-capturing", () => {
    const src = full(parseRegex("(a|b)(?<x>c)+", false).root);
    expect(src).not.toMatch(/\((?!\?)/);
    expect(new RegExp(`^${src}$`).test("acc")).toBe(true);
  });

  it("literalPrefixes() lists what every match starts with, or null", () => {
    const lits = (s: string) => literalPrefixes(parseRegex(s, false).root);
    expect(lits("\\bghp_[a-z]+")).toEqual(["ghp_"]);
    expect(lits("(?:AKIA|A3T[A-Z])x")).toEqual(["AKIA", "A3T"]);
    expect(lits("[a-z]+://")).toBeNull();
    expect(lits("a?b")).toBeNull();
  });

  it("maxLength() bounds the match length", () => {
    const max = (s: string) => maxLength(parseRegex(s, false).root);
    expect(max("ab[cd]{2,5}")).toBe(7);
    expect(max("a(?:b|cd)?")).toBe(3);
    expect(max("a+")).toBe(Number.POSITIVE_INFINITY);
  });
});
