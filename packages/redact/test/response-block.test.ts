import { describe, expect, it } from "vitest";
import { blockBody, blockEvent, blockMessage } from "../src/response-block.js";

const dec = new TextDecoder();
const cause = { ruleId: "jwt", location: "choices[0]" };

describe("block responses", () => {
  it("names the rule and the place, and tells the developer what happened", () => {
    expect(blockMessage(cause)).toMatch(/^copilot-audit: .*rule jwt at choices\[0\].*not shown/);
  });

  it("uses each stream family's error shape and the stream's line ends", () => {
    expect(dec.decode(blockEvent("openai", cause, "\n", undefined))).toMatch(
      /^data: \{"choices":null,"error":\{.*"code":"secret_blocked"\}\}\n\n$/,
    );
    const anthropic = dec.decode(blockEvent("anthropic", cause, "\r\n", undefined));
    expect(anthropic.startsWith("event: error\r\ndata: ")).toBe(true);
    expect(JSON.parse(anthropic.split("data: ")[1]!)).toMatchObject({
      type: "error",
      error: { type: "copilot_audit_blocked" },
    });
    const responses = dec.decode(blockEvent("responses", cause, "\n", 41));
    expect(JSON.parse(responses.split("data: ")[1]!)).toMatchObject({
      type: "error",
      code: "secret_blocked",
      sequence_number: 42,
    });
  });

  it("a blocked non-stream body is a JSON error", () => {
    expect(JSON.parse(dec.decode(blockBody(cause)))).toMatchObject({
      error: { code: "secret_blocked", type: "copilot_audit_blocked" },
    });
  });
});
