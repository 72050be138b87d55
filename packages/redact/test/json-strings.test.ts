import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatPath, rewriteJsonStrings } from "../src/json-strings.js";

describe("rewriteJsonStrings", () => {
  it("visits string values with their paths, not keys", () => {
    const seen: Array<[string, string]> = [];
    rewriteJsonStrings('{"a":"x","b":[1,"y",{"c d":"z"}],"e":null}', (v) => {
      seen.push([v.path(), v.value]);
      return undefined;
    });
    expect(seen).toEqual([
      ["$.a", "x"],
      ["$.b[1]", "y"],
      ['$.b[2]["c d"]', "z"],
    ]);
  });

  it("replaces only the changed strings and keeps every other byte", () => {
    const text = '{ "n": 12345678901234567890, "s" : "sec\\"ret", "k": [ 1.50, "keep" ] }';
    const out = rewriteJsonStrings(text, (v) => (v.value === 'sec"ret' ? "[M]" : undefined));
    expect(out).toBe('{ "n": 12345678901234567890, "s" : "[M]", "k": [ 1.50, "keep" ] }');
  });

  it("returns null when nothing changes, and handles a top-level string", () => {
    expect(rewriteJsonStrings('{"a":"b"}', () => undefined)).toBeNull();
    expect(rewriteJsonStrings('"top"', (v) => `${v.path()}!`)).toBe('"$!"');
  });

  it("survives deep nesting without recursion", () => {
    const deep = `${"[".repeat(20_000)}"x"${"]".repeat(20_000)}`;
    expect(rewriteJsonStrings(deep, () => "y")).toBe(`${"[".repeat(20_000)}"y"${"]".repeat(20_000)}`);
  });

  it("visits exactly the strings JSON.parse sees, and an identity rewrite parses to the same value (property)", () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        const expected: string[] = [];
        const walk = (v: unknown): void => {
          if (typeof v === "string") expected.push(v);
          else if (Array.isArray(v)) v.forEach(walk);
          else if (v && typeof v === "object") Object.values(v).forEach(walk);
        };
        walk(JSON.parse(text));
        const seen: string[] = [];
        const out = rewriteJsonStrings(text, (v) => {
          seen.push(v.value);
          return `<${v.value}>`;
        });
        expect(seen).toEqual(expected);
        const mapped = (v: unknown): unknown =>
          typeof v === "string"
            ? `<${v}>`
            : Array.isArray(v)
              ? v.map(mapped)
              : v && typeof v === "object"
                ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapped(x)]))
                : v;
        expect(JSON.parse(out ?? text)).toEqual(mapped(JSON.parse(text)));
      }),
      { seed: 9, numRuns: 300 },
    );
  });

  it("formatPath quotes keys that are not identifiers", () => {
    expect(formatPath(["messages", 1, "content"])).toBe("$.messages[1].content");
    expect(formatPath(["a-b", 0])).toBe('$["a-b"][0]');
  });
});
