/**
 * One stream of text (a completion choice, a content block, tool-call arguments) assembled from deltas.
 * push() returns the masked text that can be released now: everything except a tail that could still be the
 * start of a secret. flush() releases the rest once the text is complete.
 */
import type { Detector } from "./detector.js";
import { maskFor } from "./mask.js";

/** A decided secret in a channel: offsets into the channel's assembled (unmasked) text. */
export interface ChannelSecret {
  ruleId: string;
  description: string;
  offset: number;
  length: number;
  secret: string;
}

export interface ChannelOptions {
  detector: Detector;
  /** false: mode "off", text is passed through and only assembled. */
  scan: boolean;
  /** Held text beyond this many characters is masked without a decision. */
  maxHold: number;
  onSecret: (secret: ChannelSecret) => void;
}

/** Keep at least this much released text before trimming the buffer (amortises the slicing). */
const TRIM_SLACK = 4096;

export class TextChannel {
  /** Raw text from absolute offset `base` on. */
  private buf = "";
  private base = 0;
  /** Absolute offset up to which the text has been released. */
  private released = 0;
  private readonly out: string[] = [];
  closed = false;

  constructor(
    readonly key: string,
    readonly location: string,
    /** Text counts for completionText(). */
    readonly textual: boolean,
    private readonly opts: ChannelOptions,
  ) {}

  /** Characters received but not yet released. */
  get held(): number {
    return this.base + this.buf.length - this.released;
  }

  /** The masked text released so far. */
  text(): string {
    return this.out.join("");
  }

  push(delta: string): string {
    if (delta === "") return "";
    if (!this.opts.scan) {
      this.out.push(delta);
      return delta;
    }
    this.buf += delta;
    return this.release(false);
  }

  flush(): string {
    this.closed = true;
    if (!this.opts.scan || this.held === 0) return "";
    return this.release(true);
  }

  private release(final: boolean): string {
    const { detector, maxHold, onSecret } = this.opts;
    const text = this.buf;
    const r = this.released - this.base;
    const end = text.length;
    const step = detector.step(text, r, final);
    let hold = step.hold;
    const secrets = step.detections.map((d) => ({ ...d, start: Math.max(d.start, r) }));
    for (const d of secrets) {
      // A match that reaches the end of the text could still grow; one that straddles the hold point waits.
      if (!final && d.matchEnd >= end) hold = Math.min(hold, d.start);
      if (d.start < hold && d.end > hold) hold = d.start;
    }
    if (!final && end - hold > maxHold) {
      const ruleId = detector.ruleHoldingAt(text, hold) ?? "held-text";
      const at = hold;
      secrets.splice(0, secrets.length, ...secrets.filter((d) => d.start < at));
      secrets.push({
        ruleId,
        description: "possible secret longer than the hold limit, masked without a decision",
        start: hold,
        end,
        matchStart: hold,
        matchEnd: end,
      });
      hold = end;
    }
    let out = "";
    let pos = r;
    for (const d of secrets) {
      if (d.start >= hold) break;
      out += text.slice(pos, d.start) + maskFor(d.ruleId);
      pos = d.end;
      onSecret({
        ruleId: d.ruleId,
        description: d.description,
        offset: this.base + d.start,
        length: d.end - d.start,
        secret: text.slice(d.start, d.end),
      });
    }
    if (pos < hold) out += text.slice(pos, hold);
    this.released = this.base + hold;
    const keep = hold - detector.contextLength - 16;
    if (keep > TRIM_SLACK) {
      this.buf = text.slice(keep);
      this.base += keep;
    }
    if (out !== "") this.out.push(out);
    return out;
  }
}
