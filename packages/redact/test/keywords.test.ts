import { describe, expect, it } from "vitest";
import { KeywordIndex } from "../src/keywords.js";
import { compileRule } from "../src/rule.js";

const rules = [
  compileRule({ id: "aws", regex: "(?:AKIA|ASIA)[A-Z2-7]{16}" }, 0),
  compileRule({ id: "gen", regex: "(?:secret|token)\\s*=\\s*(\\w{8,})", flags: "i" }, 1),
  compileRule({ id: "sk", regex: "sk-(?:ant-)?[a-z]{10}" }, 2),
  compileRule({ id: "kw", regex: "[a-z]+_key=\\w+", keywords: ["_KEY="] }, 3),
];
const index = new KeywordIndex(rules);

describe("KeywordIndex", () => {
  it("keeps the anchors of case-sensitive rules case-sensitive", () => {
    expect(index.hits("AKIA x", 0).kw[0]).toEqual([0]);
    expect(index.hits("dakiao", 0).kw[0]).toBeUndefined();
  });

  it("matches keywords of case-insensitive rules and user keywords in any case", () => {
    expect(index.hits("x TOKEN = y; Secret", 0).kw[1]).toEqual([2, 13]);
    expect(index.hits("aws_key=1", 0).kw[3]).toEqual([3]);
  });

  it("finds overlapping hits and literals inside longer ones", () => {
    expect(index.hits("secretoken", 0).kw[1]).toEqual([0, 5]); // the "t" is shared
    expect(index.hits("sk-ant-abc", 0).kw[2]).toEqual([0]);
  });

  it("starts at `from` and records the last gate hit per rule", () => {
    const h = index.hits("ASIA ... AKIA", 3);
    expect(h.kw[0]).toEqual([9]);
    expect(h.gateLast[0]).toBe(9);
    expect(h.gateLast[3]).toBe(-1); // user keywords are not anchors: no gate
  });

  it("partialAtEnd: the text ends with the beginning of a prefix rule's anchor", () => {
    expect(index.partialAtEnd("use sk", 0)).toBe(true);
    expect(index.partialAtEnd("use AK", 0)).toBe(true);
    expect(index.partialAtEnd("use AK", 6)).toBe(false);
    expect(index.partialAtEnd("use tok", 0)).toBe(false); // contextual rules hold only once their value starts
  });
});
