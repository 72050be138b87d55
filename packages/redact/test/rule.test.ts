import { describe, expect, it } from "vitest";
import { compileRule, MAX_CONTEXT } from "../src/rule.js";

describe("compileRule", () => {
  it("derives anchors and keeps their case for case-sensitive rules", () => {
    const r = compileRule({ id: "aws", regex: "(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z2-7]{16}" }, 0);
    expect([r.keywords, r.keywordsCi, r.anchored, r.gate, r.contextual, r.secretGroup]).toEqual([
      ["AKIA", "ASIA"],
      false,
      true,
      ["AKIA", "ASIA"],
      false,
      0,
    ]);
  });

  it("turns a leading (?i) into the i flag and lower-cases the anchors", () => {
    const r = compileRule({ id: "x", regex: "(?i)Secret=(\\w{8,})" }, 0);
    expect([r.flags, r.keywords, r.keywordsCi]).toEqual(["i", ["secret="], true]);
  });

  it("splits context from the secret group and bounds the context length", () => {
    const r = compileRule({ id: "ctx", regex: "pass\\s{0,3}=\\s{0,3}(\\w{8})" }, 0);
    expect([r.contextual, r.contextLength, r.secretGroup]).toEqual([true, 11, 1]);
    const hold = new RegExp(`(?:${r.hold})$`);
    expect(hold.exec("x pass = abc")?.index).toBe(2); // the value has started: hold from the match start
    expect(hold.test("x pass = ")).toBe(false); // only the name so far: nothing to hold
    expect(compileRule({ id: "u", regex: "k\\s*=\\s*(\\w+)" }, 0).contextLength).toBe(MAX_CONTEXT);
  });

  it("user keywords replace the anchors for the prefilter but not for the stream gate", () => {
    const r = compileRule({ id: "k", regex: "tok_[a-z]{10}", keywords: ["TOK_"] }, 0);
    expect([r.keywords, r.anchored, r.gate]).toEqual([["tok_"], false, ["tok_"]]);
  });

  it("a rule starting with a class has no anchors: it always runs and its hold is ungated", () => {
    const r = compileRule({ id: "c", regex: "[a-f0-9]{40}" }, 0);
    expect([r.keywords, r.gate, r.anchored]).toEqual([null, null, false]);
  });

  it("uses the description, or the id when there is none", () => {
    expect(compileRule({ id: "a", regex: "aa", description: "An A" }, 0).description).toBe("An A");
    expect(compileRule({ id: "a", regex: "aa" }, 0).description).toBe("a");
  });
});
