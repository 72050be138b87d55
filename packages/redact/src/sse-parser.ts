/**
 * Server-sent events framing on bytes: lines end with LF, CRLF or CR; an empty line ends an event. Works on
 * bytes so that an event split anywhere (even inside a UTF-8 character) is reassembled before it is decoded;
 * LF and CR never occur inside a multi-byte UTF-8 character. Keeps each event's exact bytes so an event that
 * needs no change is sent on byte for byte.
 */

export interface SseLine {
  text: string;
  /** Byte offsets within the event: the line, and the line with its end-of-line. */
  start: number;
  end: number;
  eolEnd: number;
}

export interface SseEvent {
  /** Exact bytes, including the empty line that ended the event (absent for a last, unterminated event). */
  raw: Uint8Array;
  /** Non-empty lines; empty for bytes between events (extra empty lines, a stray LF of a split CRLF). */
  lines: SseLine[];
}

const LF = 10;
const CR = 13;

export class SseFramer {
  private rest: Uint8Array = new Uint8Array(0);
  private lines: SseLine[] = [];
  /** Bytes of `rest` already split into lines. */
  private scanned = 0;
  /** The last byte seen was a CR that ended a line: an LF right after it belongs to that line end. */
  private pendingCR = false;
  private readonly decoder = new TextDecoder();

  /** Bytes of the event being assembled. */
  get buffered(): number {
    return this.rest.length;
  }

  /** Take back the bytes of the unfinished event (for a switch to plain-text mode). */
  drain(): Uint8Array {
    const out = this.rest;
    this.rest = new Uint8Array(0);
    this.lines = [];
    this.scanned = 0;
    this.pendingCR = false;
    return out;
  }

  /** Split `chunk` (after what is buffered) into complete events. */
  feed(chunk: Uint8Array, out: SseEvent[]): void {
    let buf: Uint8Array;
    if (this.rest.length === 0) buf = chunk;
    else {
      buf = new Uint8Array(this.rest.length + chunk.length);
      buf.set(this.rest, 0);
      buf.set(chunk, this.rest.length);
    }
    let pos = this.scanned;
    let evStart = 0;
    if (this.pendingCR && pos < buf.length) {
      this.pendingCR = false;
      if (buf[pos] === LF) {
        // The CR ended a line of the event being assembled, or (no lines yet) the previous event.
        const last = this.lines[this.lines.length - 1];
        if (last !== undefined) last.eolEnd += 1;
        else out.push({ raw: buf.subarray(pos, pos + 1), lines: [] });
        pos += 1;
        if (last === undefined) evStart = pos;
      }
    }
    const n = buf.length;
    while (pos < n) {
      let j = pos;
      while (j < n) {
        const b = buf[j]!;
        if (b === LF || b === CR) break;
        j++;
      }
      if (j >= n) break;
      let eolEnd = j + 1;
      if (buf[j] === CR) {
        if (j + 1 < n) {
          if (buf[j + 1] === LF) eolEnd = j + 2;
        } else this.pendingCR = true;
      }
      if (j === pos) {
        out.push({ raw: buf.subarray(evStart, eolEnd), lines: this.lines });
        this.lines = [];
        evStart = eolEnd;
      } else {
        this.lines.push({
          text: this.decoder.decode(buf.subarray(pos, j)),
          start: pos - evStart,
          end: j - evStart,
          eolEnd: eolEnd - evStart,
        });
      }
      pos = eolEnd;
    }
    this.rest = evStart === 0 && buf !== chunk ? buf : buf.slice(evStart);
    this.scanned = pos - evStart;
  }

  /** The last event if the stream ended without an empty line after it. */
  finish(out: SseEvent[]): void {
    if (this.rest.length === 0) return;
    const buf = this.rest;
    if (this.scanned < buf.length) {
      this.lines.push({
        text: this.decoder.decode(buf.subarray(this.scanned)),
        start: this.scanned,
        end: buf.length,
        eolEnd: buf.length,
      });
    }
    out.push({ raw: buf, lines: this.lines });
    this.drain();
  }
}
