import { describe, expect, it } from "vitest";
import { shannonEntropy } from "../src/entropy.js";

describe("shannonEntropy", () => {
  it("is 0 for empty and constant strings, log2(n) for n distinct characters", () => {
    expect(shannonEntropy("")).toBe(0);
    expect(shannonEntropy("aaaa")).toBe(0);
    expect(shannonEntropy("ab")).toBe(1);
    expect(shannonEntropy("abcdefgh")).toBe(3);
  });

  it("ranks placeholders below random keys", () => {
    expect(shannonEntropy("changeme")).toBeLessThan(3);
    expect(shannonEntropy("q8W#e6R%t4Y3u2I1")).toBeGreaterThan(3.5);
  });
});
