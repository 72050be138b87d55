import { describe, expect, it } from "vitest";
import { clip, show } from "../src/text.js";

describe("show / clip", () => {
  it("quotes values and clips long ones", () => {
    expect(show("abc")).toBe('"abc"');
    expect(show(["a", 1])).toBe('["a",1]');
    expect(show("x".repeat(500))).toHaveLength(121);
    expect(clip("abc")).toBe("abc");
    expect(clip("y".repeat(500), 10)).toBe(`${"y".repeat(10)}…`);
  });
  it("survives values JSON cannot encode", () => {
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(show(loop)).toBe("[object Object]");
    expect(show(undefined)).toBe("undefined");
  });
});
