/**
 * The streaming guarantee (issue 5): for every secret of the corpus and every way of splitting a completion
 * into events (every split point for short texts, random splits for long ones, and random TCP chunking of the
 * bytes), the client receives no fragment of the secret (length >= 4) that was not already in the rest of the
 * text, the text it reassembles equals the text masked in one piece, and the output is valid SSE with no more
 * events than the input and `[DONE]` kept.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createDetector } from "../src/detector.js";
import { applyMasks } from "../src/mask.js";
import { embed, positives } from "./corpus.js";
import {
  allStrings,
  buildStream,
  bytes,
  deltasAt,
  FORMATS,
  type Format,
  KIND,
  parseSse,
  run,
  splitAt,
  visibleText,
} from "./sse-helpers.js";

const detector = createDetector();

interface Case {
  rule: string;
  secret: string;
  text: string;
  masked: string;
}

const cases: Case[] = positives().flatMap((p) => {
  const { text, start } = embed(p);
  const full = `Voilà → ${text} ✓ fin.`;
  const out = [{ rule: p.rule, secret: p.secret, text: full, masked: applyMasks(full, detector.scan(full)) }];
  // The same secret as the very last thing in the completion (held until the channel ends), where it still is one.
  const last = `Voilà → ${text.slice(0, start + p.secret.length)}`;
  const found = detector.scan(last);
  if (found.some((d) => d.ruleId === p.rule && last.slice(d.start, d.end) === p.secret)) {
    out.push({ rule: p.rule, secret: p.secret, text: last, masked: applyMasks(last, found) });
  }
  return out;
});

function fragments(secret: string): string[] {
  const out = new Set<string>();
  for (let i = 0; i + 4 <= secret.length; i++) out.add(secret.slice(i, i + 4));
  return [...out];
}

/** Checks one run; returns a description of the first violation, or undefined. */
function violation(
  format: Format,
  c: Case,
  deltas: string[],
  chunkPoints: number[],
  mode: "mask" | "report" = "mask",
): string | undefined {
  const input = buildStream(format, deltas);
  const inputEvents = parseSse(input);
  const { output, redactor } = run(KIND[format], splitAt(bytes(input), chunkPoints), { mode });
  let events: ReturnType<typeof parseSse>;
  try {
    events = parseSse(output);
    for (const e of events) if (e.data !== "[DONE]") JSON.parse(e.data);
  } catch {
    return "output is not valid SSE with JSON data";
  }
  if (events.length > inputEvents.length)
    return `more events out (${events.length}) than in (${inputEvents.length})`;
  if (format === "chat" || format === "completions") {
    if (events[events.length - 1]?.data !== "[DONE]") return "[DONE] missing at the end";
  }
  const visible = visibleText(format, events);
  if (visible !== c.masked)
    return `visible text ${JSON.stringify(visible)} != masked ${JSON.stringify(c.masked)}`;
  // Text that legitimately contains 4-grams: the rest of the completion and the envelope of a masked stream.
  const reference = buildStream(format, [c.masked]);
  const allowed = `${c.text.replace(c.secret, "\u0000")}\u0000${reference}\u0000${allStrings(parseSse(reference)).join("\u0000")}`;
  const seen = `${output}\u0000${allStrings(events).join("\u0000")}`;
  for (const f of fragments(c.secret)) {
    if (seen.includes(f) && !allowed.includes(f))
      return `fragment ${JSON.stringify(f)} of the secret reached the client`;
  }
  if (!redactor.findings.some((f) => f.ruleId === c.rule)) return "no finding recorded";
  return undefined;
}

describe("stream redaction property", () => {
  it("covers every corpus secret, most of them also as the last thing in the completion", () => {
    const all = positives();
    expect(new Set(cases.map((c) => c.secret)).size).toBe(all.length);
    expect(cases.filter((c) => c.text.endsWith(c.secret)).length).toBeGreaterThanOrEqual(all.length - 8);
  });

  it("the checker itself catches a leak (mode report forwards the secret)", () => {
    for (const c of cases) {
      const v = violation("chat", c, deltasAt(c.text, [c.text.length >> 1]), [], "report");
      expect(v, c.rule).toMatch(/^visible text|^fragment/);
    }
  });

  it.each(FORMATS.map((f) => [f]))("%s: every single split point of every short corpus text", (format) => {
    for (const c of cases) {
      if (c.text.length > 400) continue;
      for (let at = 0; at <= c.text.length; at++) {
        const v = violation(format, c, deltasAt(c.text, [at]), []);
        if (v !== undefined) expect.fail(`${c.rule}, split at ${at}: ${v}`);
      }
    }
  });

  it.each(FORMATS.map((f) => [f]))("%s: one character per event", (format) => {
    for (const c of cases) {
      const v = violation(format, c, [...c.text], []);
      if (v !== undefined) expect.fail(`${c.rule}: ${v}`);
    }
  });

  it.each(FORMATS.map((f) => [f]))(
    "%s: random event splits and random TCP chunking (also inside UTF-8)",
    (format) => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: cases.length - 1 }),
          fc.array(fc.nat(), { maxLength: 24 }),
          fc.array(fc.nat(), { maxLength: 12 }),
          (i, eventCuts, byteCuts) => {
            const c = cases[i]!;
            const deltas = deltasAt(
              c.text,
              eventCuts.map((n) => n % (c.text.length + 1)),
            );
            const size = bytes(buildStream(format, deltas)).length;
            const v = violation(
              format,
              c,
              deltas,
              byteCuts.map((n) => n % (size + 1)),
            );
            if (v !== undefined) throw new Error(`${c.rule}: ${v}`);
          },
        ),
        { numRuns: 300, seed: 42 },
      );
    },
  );
});
