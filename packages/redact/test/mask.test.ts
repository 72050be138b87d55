import { describe, expect, it } from "vitest";
import { applyMasks, maskFor } from "../src/mask.js";

describe("mask", () => {
  it("formats masks as [REDACTED:<rule-id>]", () => {
    expect(maskFor("github-pat")).toBe("[REDACTED:github-pat]");
  });

  it("replaces each detection and keeps the text around", () => {
    const d = (ruleId: string, start: number, end: number) => ({ ruleId, description: "", start, end });
    expect(applyMasks("a SECRET b TOKEN c", [d("x", 2, 8), d("y", 11, 16)])).toBe(
      "a [REDACTED:x] b [REDACTED:y] c",
    );
    expect(applyMasks("same", [])).toBe("same");
  });
});
