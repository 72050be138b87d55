import { describe, expect, it } from "vitest";
import { completionSlot, joinCompletion } from "../src/completion.js";

describe("completion text", () => {
  it("knows the JSON paths that hold completion text", () => {
    expect(completionSlot(["choices", 2, "text"])).toEqual([2, 0]);
    expect(completionSlot(["choices", 0, "message", "content"])).toEqual([0, 0]);
    expect(completionSlot(["choices", 0, "message", "content", 3, "text"])).toEqual([0, 3]);
    expect(completionSlot(["output", 1, "content", 0, "text"])).toEqual([1, 0]);
    expect(completionSlot(["content", 4, "text"])).toEqual([0, 4]);
    expect(completionSlot(["choices", 0, "message", "role"])).toBeUndefined();
    expect(completionSlot(["id"])).toBeUndefined();
  });

  it("joins parts per choice in order, separating several choices", () => {
    expect(joinCompletion([])).toBe("");
    expect(
      joinCompletion([
        { choice: 0, order: 1, text: "b" },
        { choice: 0, order: 0, text: "a" },
      ]),
    ).toBe("ab");
    expect(
      joinCompletion([
        { choice: 1, order: 0, text: "y" },
        { choice: 0, order: 0, text: "x" },
      ]),
    ).toBe("--- choice 0 ---\nx\n\n--- choice 1 ---\ny");
  });
});
