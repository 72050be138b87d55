/**
 * Fuzzing: random and adversarial input must never crash or hang the SSE redactor, the detector, request
 * redaction or rule compilation, and the outputs keep their invariants.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createDetector } from "../src/detector.js";
import { RedactError } from "../src/errors.js";
import { redactRequestBody } from "../src/request.js";
import { createResponseRedactor } from "../src/response.js";
import type { EndpointKind, RedactMode } from "../src/types.js";
import { Gen } from "./corpus.js";
import { bytes, splitAt } from "./sse-helpers.js";

const detector = createDetector();
const g = new Gen(61);
const fingerprint = (s: string) => `fp:${s.length}`;
const KINDS: EndpointKind[] = ["chat", "completions", "responses", "messages", "other"];
const MODES: RedactMode[] = ["mask", "report", "block", "off"];

/** Fragments that steer random input towards the interesting paths. */
const FRAGMENTS = [
  "data: ",
  "data:",
  "event: content_block_delta\n",
  "\n",
  "\r\n",
  "\r",
  "\n\n",
  ": c\n\n",
  "[DONE]",
  "{",
  "}",
  '"',
  '{"choices":[{"index":0,"text":"',
  '{"choices":[{"index":0,"delta":{"content":"',
  '"finish_reason":"stop"}]}',
  '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"',
  '{"type":"response.output_text.delta","output_index":0,"content_index":0,"delta":"',
  '{"type":"content_block_stop","index":0}',
  '"}}\n\n',
  '"}]}\n\n',
  "ghp_",
  g.githubClassic("ghp"),
  "sk-ant-api03-",
  'password = "',
  "-----BEGIN RSA PRIVATE KEY-----",
  "-----END RSA PRIVATE KEY-----",
  "eyJ",
  "postgres://u:",
  "@h",
  "AKIA",
  "é日本✓",
  "\\u0000",
  "\\",
];

const fragmentText = fc
  .array(fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ maxLength: 8 })), { maxLength: 60 })
  .map((a) => a.join(""));

function runRedactor(
  kind: EndpointKind,
  mode: RedactMode,
  chunks: Uint8Array[],
  contentType: string,
): Uint8Array[] {
  const r = createResponseRedactor(
    { kind, contentType },
    { fingerprint, mode, maxHoldBytes: 512, maxEventBytes: 2048, maxBufferBytes: 4096 },
  );
  const out = chunks.map((c) => r.push(c));
  out.push(r.end());
  expect(() => r.push(new Uint8Array([1]))).toThrow(RedactError);
  r.completionText();
  return out;
}

describe("fuzz", () => {
  it("SSE redactor: random bytes in random chunks, every kind and mode", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.constantFrom(...KINDS),
        fc.constantFrom(...MODES),
        (data, cuts, kind, mode) => {
          runRedactor(
            kind,
            mode,
            splitAt(
              data,
              cuts.map((c) => c % (data.length + 1)),
            ),
            "text/event-stream",
          );
        },
      ),
      { seed: 101, numRuns: 300 },
    );
  });

  it("SSE redactor: SSE-like text built from fragments", () => {
    fc.assert(
      fc.property(
        fragmentText,
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.constantFrom(...KINDS),
        fc.constantFrom(...MODES),
        (text, cuts, kind, mode) => {
          const data = bytes(text);
          const out = runRedactor(
            kind,
            mode,
            splitAt(
              data,
              cuts.map((c) => c % (data.length + 1)),
            ),
            "text/event-stream",
          );
          if (mode === "report" || mode === "off")
            expect(Buffer.concat(out).equals(Buffer.from(data))).toBe(true);
        },
      ),
      { seed: 102, numRuns: 500 },
    );
  });

  it("non-stream redactor: random text and JSON", () => {
    fc.assert(
      fc.property(
        fc.oneof(fragmentText, fc.json()),
        fc.constantFrom(...MODES),
        fc.constantFrom("application/json", "text/plain", undefined),
        (text, mode, ct) => {
          const data = bytes(text);
          runRedactor("chat", mode, splitAt(data, [7, 100]), ct as string);
        },
      ),
      { seed: 103, numRuns: 300 },
    );
  });

  it("detector: random strings give sorted, in-bounds, non-overlapping detections; step() keeps its invariants", () => {
    fc.assert(
      fc.property(
        fc.oneof(fragmentText, fc.string({ maxLength: 300, unit: "grapheme" })),
        fc.nat(),
        (text, r) => {
          const found = detector.scan(text);
          for (let i = 0; i < found.length; i++) {
            const d = found[i]!;
            expect(d.start).toBeGreaterThanOrEqual(i === 0 ? 0 : found[i - 1]!.end);
            expect(d.end).toBeGreaterThan(d.start);
            expect(d.end).toBeLessThanOrEqual(text.length);
          }
          const released = r % (text.length + 1);
          const step = detector.step(text, released, false);
          expect(step.hold).toBeGreaterThanOrEqual(released);
          expect(step.hold).toBeLessThanOrEqual(text.length);
          for (const d of step.detections) expect(d.end).toBeGreaterThan(released);
        },
      ),
      { seed: 104, numRuns: 1000 },
    );
  });

  it("request redaction: random JSON stays valid JSON with the same shape", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(...FRAGMENTS), (value, fragment) => {
        const body = JSON.stringify({
          messages: [{ role: "user", content: `x ${fragment} y` }],
          extra: value,
        });
        const r = redactRequestBody(
          { kind: "chat", contentType: "application/json", body: bytes(body) },
          { fingerprint },
        );
        const out = JSON.parse(new TextDecoder().decode(r.body));
        expect(Object.keys(out)).toEqual(["messages", "extra"]);
      }),
      { seed: 105, numRuns: 300 },
    );
  });

  it("rule compilation: random regex sources either compile or fail with a RedactError", () => {
    const atoms = [
      "a",
      "\\d",
      "[a-z]",
      ".",
      "(",
      ")",
      "|",
      "*",
      "+",
      "?",
      "{2,3}",
      "(?:",
      "(?<=x)",
      "\\b",
      "^",
      "$",
      "\\1",
      "(?i)",
      "[",
      "]",
      "{",
    ];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...atoms), { minLength: 1, maxLength: 12 }), (parts) => {
        try {
          const d = createDetector({ rules: [{ id: "fuzz", regex: parts.join("") }] });
          d.scan("a1 abc xyz 123");
          d.step("a1 abc", 0, false);
        } catch (err) {
          expect(err).toBeInstanceOf(RedactError);
        }
      }),
      { seed: 106, numRuns: 200 },
    );
  });

  it("adversarial input does not make any rule backtrack for long (no hang)", () => {
    const inputs = [
      "a".repeat(200_000),
      "ghp_".repeat(50_000),
      `password=${"x".repeat(100_000)}`,
      "password = ".repeat(20_000),
      `-----BEGIN RSA PRIVATE KEY-----${"A".repeat(100_000)}`,
      "-----BEGIN RSA PRIVATE KEY-----\n".repeat(5_000),
      `eyJ${"a".repeat(50_000)}.eyJ${"b".repeat(50_000)}`,
      `postgres://${"u".repeat(50_000)}:${"p".repeat(50_000)}`,
      "sk-".repeat(60_000),
      "token: ".repeat(30_000),
    ];
    for (const text of inputs) {
      const t0 = performance.now();
      detector.scan(text);
      detector.step(text, Math.max(0, text.length - 100), false);
      expect(performance.now() - t0, text.slice(0, 20)).toBeLessThan(5_000);
    }
  });
});
