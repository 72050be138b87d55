import { describe, expect, it } from "vitest";
import { BUILTIN_RULE_IDS, createDetector } from "../src/detector.js";
import { BUILTIN_RULES } from "../src/rules.js";
import { embed, negatives, positives } from "./corpus.js";

const detector = createDetector();

describe("built-in rules: corpus", () => {
  const corpus = positives();

  it("has at least one positive for every built-in rule", () => {
    const covered = new Set(corpus.map((p) => p.rule));
    expect([...BUILTIN_RULE_IDS].filter((id) => !covered.has(id))).toEqual([]);
  });

  it.each(corpus.map((p) => [p.rule, p] as const))(
    "%s fires on its positive, exactly on the secret",
    (_id, p) => {
      const { text, start } = embed(p);
      expect(detector.scan(text)).toEqual([
        { ruleId: p.rule, description: expect.any(String), start, end: start + p.secret.length },
      ]);
    },
  );

  it.each(corpus.map((p) => [p.rule, p] as const))(
    "%s fires at the very start and end of a text",
    (_id, p) => {
      expect(detector.scan(p.secret).map((d) => [d.ruleId, d.start, d.end])).toEqual(
        p.context.startsWith("{}") ||
          !["aws-secret-access-key", "azure-storage-key", "url-password", "generic-secret"].includes(p.rule)
          ? [[p.rule, 0, p.secret.length]]
          : [],
      );
    },
  );

  it.each(negatives().map((n) => [n]))("does not fire on the near-miss %j", (text) => {
    expect(detector.scan(text)).toEqual([]);
  });

  it("finds several secrets in one text, in order, without overlap", () => {
    const all = corpus.map(embed);
    const text = all.map((e) => e.text).join("\n");
    const found = detector.scan(text);
    expect(found.map((d) => d.ruleId)).toEqual(corpus.map((p) => p.rule));
    for (let i = 1; i < found.length; i++) expect(found[i]!.start).toBeGreaterThanOrEqual(found[i - 1]!.end);
  });

  it("gives every rule a description and a unique id", () => {
    expect(new Set(BUILTIN_RULES.map((r) => r.id)).size).toBe(BUILTIN_RULES.length);
    for (const r of BUILTIN_RULES) expect(r.description.length).toBeGreaterThan(10);
  });
});
