import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type SseEvent, SseFramer } from "../src/sse-parser.js";
import { bytes, splitAt } from "./sse-helpers.js";

const dec = new TextDecoder();

function frame(chunks: Uint8Array[]): SseEvent[] {
  const f = new SseFramer();
  const out: SseEvent[] = [];
  for (const c of chunks) f.feed(c, out);
  f.finish(out);
  return out;
}

describe("SseFramer", () => {
  it("splits events on blank lines and keeps their exact bytes", () => {
    const text = 'data: {"a":1}\n\n: comment\n\nevent: x\ndata: 2\n\n';
    const events = frame([bytes(text)]);
    expect(events.map((e) => dec.decode(e.raw))).toEqual([
      'data: {"a":1}\n\n',
      ": comment\n\n",
      "event: x\ndata: 2\n\n",
    ]);
    expect(events[2]!.lines.map((l) => l.text)).toEqual(["event: x", "data: 2"]);
  });

  it("understands CRLF and lone CR line ends", () => {
    expect(
      frame([bytes("data: 1\r\n\r\ndata: 2\r\rdata: 3\n\n")]).map((e) => e.lines.map((l) => l.text)),
    ).toEqual([["data: 1"], ["data: 2"], ["data: 3"]]);
  });

  it("keeps a CRLF split between chunks as one line end, whether inside an event or after it", () => {
    const a = frame([bytes("data: 1\r"), bytes("\ndata: 2\r\n\r"), bytes("\ndata: 3\n\n")]);
    expect(a.filter((e) => e.lines.length > 0).map((e) => e.lines.map((l) => l.text))).toEqual([
      ["data: 1", "data: 2"],
      ["data: 3"],
    ]);
    expect(a.map((e) => dec.decode(e.raw)).join("")).toBe("data: 1\r\ndata: 2\r\n\r\ndata: 3\n\n");
  });

  it("reassembles a UTF-8 character split across chunks", () => {
    const b = bytes('data: {"t":"日本語 ✓"}\n\n');
    const events = frame(splitAt(b, [11, 12, 13, 19]));
    expect(events[0]!.lines[0]!.text).toBe('data: {"t":"日本語 ✓"}');
  });

  it("returns a last event that has no blank line after it", () => {
    const events = frame([bytes("data: 1\n\ndata: 2")]);
    expect(events.map((e) => dec.decode(e.raw))).toEqual(["data: 1\n\n", "data: 2"]);
  });

  it("gives the same events and bytes however the input is chunked (property)", () => {
    const text = 'data: {"x":"é"}\r\n\r\n: c\n\nevent: e\rdata: a\rdata: b\r\r\n\ndata: [DONE]\n\n';
    const whole = frame([bytes(text)]);
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 80 }), { maxLength: 20 }), (cuts) => {
        const events = frame(splitAt(bytes(text), cuts));
        // Bytes between events (a CRLF's LF in the next chunk) may come as an extra line-less item.
        const lines = (es: SseEvent[]) =>
          es.filter((e) => e.lines.length > 0).map((e) => e.lines.map((l) => l.text));
        expect(lines(events)).toEqual(lines(whole));
        expect(events.map((e) => dec.decode(e.raw)).join("")).toBe(text);
      }),
      { seed: 3, numRuns: 300 },
    );
  });

  it("drain() hands back the unfinished event", () => {
    const f = new SseFramer();
    f.feed(bytes("data: 1\n\ndata: par"), []);
    expect(f.buffered).toBe(9);
    expect(dec.decode(f.drain())).toBe("data: par");
    expect(f.buffered).toBe(0);
  });
});
