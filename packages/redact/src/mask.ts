import type { Detection } from "./types.js";

/** The text that replaces a secret. */
export function maskFor(ruleId: string): string {
  return `[REDACTED:${ruleId}]`;
}

/** `text` with every detection (sorted, not overlapping) replaced by its mask. */
export function applyMasks(text: string, detections: readonly Detection[]): string {
  if (detections.length === 0) return text;
  let out = "";
  let pos = 0;
  for (const d of detections) {
    out += text.slice(pos, d.start) + maskFor(d.ruleId);
    pos = d.end;
  }
  return out + text.slice(pos);
}
