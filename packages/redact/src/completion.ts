/** The completion text of a response, for the audit record: which JSON paths hold it, and how choices join. */
import type { PathSegment } from "./json-strings.js";

/** Text of one channel or field: `choice` (choice index, Responses output index), `order` within it. */
export interface CompletionPart {
  choice: number;
  order: number;
  text: string;
}

/** Paths of a non-stream JSON response that hold completion text: [choice, order]. */
export function completionSlot(seg: PathSegment[]): [number, number] | undefined {
  const [a, b, c, d, e, f] = seg;
  if (a === "choices" && typeof b === "number") {
    if (c === "text" && seg.length === 3) return [b, 0];
    if (c === "message" && d === "content" && seg.length === 4) return [b, 0];
    if (c === "message" && d === "content" && typeof e === "number" && f === "text" && seg.length === 6)
      return [b, e];
  }
  if (
    a === "output" &&
    typeof b === "number" &&
    c === "content" &&
    typeof d === "number" &&
    e === "text" &&
    seg.length === 5
  ) {
    return [b, d];
  }
  if (a === "content" && typeof b === "number" && c === "text" && seg.length === 3) return [0, b];
  return undefined;
}

/** Parts joined per choice in order; several choices are separated by `--- choice N ---` lines. */
export function joinCompletion(parts: readonly CompletionPart[]): string {
  const choices = [...new Set(parts.map((p) => p.choice))].sort((a, b) => a - b);
  const texts = choices.map((c) =>
    parts
      .filter((p) => p.choice === c)
      .sort((a, b) => a.order - b.order)
      .map((p) => p.text)
      .join(""),
  );
  if (texts.length <= 1) return texts[0] ?? "";
  return texts.map((t, i) => `--- choice ${choices[i]} ---\n${t}`).join("\n\n");
}
