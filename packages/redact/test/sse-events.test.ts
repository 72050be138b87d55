import { describe, expect, it } from "vitest";
import { TextChannel } from "../src/channel.js";
import { createDetector } from "../src/detector.js";
import { type ChannelSpec, eventFamily, isObject, type JsonObject, rewriteEvent } from "../src/sse-events.js";

const detector = createDetector();

/** A real host: TextChannels keyed by spec.key, other strings scanned by the detector. */
function host() {
  const channels = new Map<string, TextChannel>();
  const specs: ChannelSpec[] = [];
  return {
    specs,
    push(spec: ChannelSpec, delta: string): string {
      specs.push(spec);
      let ch = channels.get(spec.key);
      if (!ch) {
        ch = new TextChannel(spec.key, spec.key, spec.textual, {
          detector,
          scan: true,
          maxHold: 1000,
          onSecret: () => {},
        });
        channels.set(spec.key, ch);
      }
      return ch.push(delta);
    },
    maskOther: (v: string) => (detector.scan(v).length > 0 ? "[M]" : v),
  };
}

describe("rewriteEvent", () => {
  it("finds the channels of each format and their end signals", () => {
    const cases: Array<[JsonObject, string[], Array<string | null>]> = [
      [{ choices: [{ index: 2, text: "x", finish_reason: "stop" }] }, ["choices[2]"], ["choices[2]"]],
      [
        {
          choices: [
            { index: 0, delta: { content: "x", tool_calls: [{ index: 1, function: { arguments: "{" } }] } },
          ],
        },
        ["choices[0]", "choices[0].tool_calls[1]"],
        [],
      ],
      [
        { type: "response.output_text.delta", output_index: 1, content_index: 0, delta: "x" },
        ["output[1].content[0]"],
        [],
      ],
      [
        { type: "response.function_call_arguments.delta", output_index: 2, delta: "{" },
        ["output[2].function_call_arguments"],
        [],
      ],
      [
        { type: "response.output_text.done", output_index: 1, content_index: 0, text: "x" },
        [],
        ["output[1].content[0]"],
      ],
      [{ type: "response.completed", response: {} }, [], [null]],
      [
        { type: "content_block_delta", index: 3, delta: { type: "thinking_delta", thinking: "x" } },
        ["content[3].thinking"],
        [],
      ],
      [{ type: "content_block_stop", index: 3 }, [], ["content[3]"]],
      [{ type: "message_stop" }, [], [null]],
      [{ choices: null, copilot_references: [] }, [], []],
    ];
    for (const [obj, keys, ends] of cases) {
      const rw = rewriteEvent(obj, host(), 0);
      expect(rw.touched.map((t) => t.key)).toEqual(keys);
      expect(rw.ends).toEqual(ends);
    }
  });

  it("writes released text back and masks other strings", () => {
    const h = host();
    const obj: JsonObject = { choices: [{ index: 0, delta: { content: "hi" } }], note: `x ${"ghp_"}` };
    const rw = rewriteEvent(obj, h, 0);
    expect(rw.changed).toBe(false);
    expect(h.specs[0]!.textual).toBe(true);
    rw.touched[0]!.set("changed");
    expect(rw.changed).toBe(true);
    expect(obj).toMatchObject({ choices: [{ delta: { content: "changed" } }] });
  });

  it("eventFamily and isObject", () => {
    expect(eventFamily({ choices: [] })).toBe("openai");
    expect(eventFamily({ type: "response.created" })).toBe("responses");
    expect(eventFamily({ type: "ping" })).toBe("anthropic");
    expect(eventFamily({ copilot_errors: [] })).toBeUndefined();
    expect(isObject([])).toBe(false);
    expect(isObject(null)).toBe(false);
    expect(isObject({})).toBe(true);
  });
});
