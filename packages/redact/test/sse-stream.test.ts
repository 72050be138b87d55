import { describe, expect, it } from "vitest";
import { TextChannel } from "../src/channel.js";
import { createDetector } from "../src/detector.js";
import { SseStream } from "../src/sse-stream.js";
import { Gen } from "./corpus.js";
import { buildStream, bytes, parseSse, visibleText } from "./sse-helpers.js";

const detector = createDetector();
const g = new Gen(51);
const dec = new TextDecoder();

function stream() {
  return new SseStream(
    {
      newChannel: (key, textual) =>
        new TextChannel(key, key, textual, { detector, scan: true, maxHold: 16_384, onSecret: () => {} }),
      maskOther: (v) => v,
      stopped: () => false,
    },
    "openai",
  );
}

describe("SseStream", () => {
  it("defers an event while its channel holds text, and sends it with the channel's next event", () => {
    const s = stream();
    const key = g.githubClassic("ghp");
    const e1 = bytes(
      buildStream("completions", ["say ", key.slice(0, 6)])
        .split("\n\n")
        .slice(0, 3)
        .join("\n\n") + "\n\n",
    );
    const first = s.feed(e1);
    // the first event (no text) and "say " go out; the event with the start of the token waits
    expect(parseSse(dec.decode(Buffer.concat(first.out)))).toHaveLength(2);
    const rest = s.feed(
      bytes(`data: ${JSON.stringify({ choices: [{ index: 0, text: `${key.slice(6)} ok` }] })}\n\n`),
    );
    const events = parseSse(dec.decode(Buffer.concat(rest.out)));
    expect(events).toHaveLength(2);
    expect(visibleText("completions", events)).toBe("[REDACTED:github-pat] ok");
  });

  it("sends a deferred event with the rest of its channel when the channel ends", () => {
    const s = stream();
    const key = g.githubClassic("gho");
    const input = buildStream("chat", ["my ", key]);
    const out = [...s.feed(bytes(input)).out, ...s.finish()];
    const events = parseSse(dec.decode(Buffer.concat(out)));
    expect(events).toHaveLength(parseSse(input).length);
    expect(visibleText("chat", events)).toBe("my [REDACTED:github-oauth]");
  });

  it("reports `same` only when the chunk goes out byte for byte", () => {
    const s = stream();
    const chunk = bytes(buildStream("chat", ["plain text"]));
    const whole = s.feed(chunk);
    expect(whole.same).toBe(true);
    expect(Buffer.concat(whole.out).equals(chunk)).toBe(true);
    const partial = s.feed(bytes('data: {"choices":[]'));
    expect(partial).toEqual({ out: [], same: false });
  });

  it("collects completion text per channel", () => {
    const s = stream();
    s.feed(bytes(buildStream("chat", ["a", "b"])));
    expect(s.parts()).toEqual([{ choice: 0, order: 0, text: "ab" }]);
  });
});
