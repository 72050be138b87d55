import { describe, expect, it } from "vitest";
import { parseRegex, RegexSyntaxError } from "../src/regex-ast.js";

describe("parseRegex", () => {
  it("parses sequences, classes, escapes and quantifiers", () => {
    const { root, groups } = parseRegex("\\bab[c-e]{2,3}?\\x41\\.", false);
    expect(groups).toBe(0);
    expect(root).toEqual({
      t: "seq",
      items: [
        { t: "assert", kind: "\\b", body: null },
        { t: "char", ch: "a", src: "a" },
        { t: "char", ch: "b", src: "b" },
        { t: "rep", body: { t: "char", ch: null, src: "[c-e]" }, min: 2, max: 3, lazy: true },
        { t: "char", ch: "A", src: "\\x41" },
        { t: "char", ch: ".", src: "\\." },
      ],
    });
  });

  it("numbers capturing groups in order of their opening parenthesis, named ones included", () => {
    const { groups, root } = parseRegex("(a(?<n>b)(?:c))(d)", false);
    expect(groups).toBe(3);
    expect(root.t === "seq" && root.items.map((i) => (i.t === "group" ? i.capture : -1))).toEqual([1, 3]);
  });

  it("keeps lookarounds as assertions with their body", () => {
    const { root } = parseRegex("(?<![A-Z])x(?=y)", false);
    expect(root.t === "seq" && root.items.map((i) => (i.t === "assert" ? i.kind : i.t))).toEqual([
      "(?<!",
      "char",
      "(?=",
    ]);
  });

  it("reads back-references and unicode escapes", () => {
    expect(parseRegex("(a)\\1", false).root).toMatchObject({
      items: [{ t: "group" }, { t: "backref", src: "\\1" }],
    });
    expect(parseRegex("\\u{1F600}", true).root).toEqual({ t: "char", ch: "😀", src: "\\u{1F600}" });
    expect(parseRegex("\\p{L}", true).root).toEqual({ t: "char", ch: null, src: "\\p{L}" });
  });

  it("treats a brace that is no quantifier as a literal outside unicode mode", () => {
    expect(parseRegex("a{x", false).root).toMatchObject({
      t: "seq",
      items: [{ ch: "a" }, { ch: "{" }, { ch: "x" }],
    });
  });

  it.each([["(?i)abc"], ["a**"], ["(abc"], ["[abc"], ["abc)"], ["a{3,1}"], ["*a"]])("rejects %j", (src) => {
    expect(() => parseRegex(src, false)).toThrow(RegexSyntaxError);
  });
});
