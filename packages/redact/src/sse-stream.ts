/**
 * The SSE side of a response redactor: frames events, feeds each event's channel text to its TextChannel,
 * and writes events back out.
 * - An event that needs no change goes out byte for byte.
 * - An event after which its channel holds text (a possible secret is undecided) is deferred: it goes out,
 *   with what its channel released, just before that channel's next event, or with the rest of the channel's
 *   text when the channel ends. So the output never has more events than the input, and text is never
 *   released later than the channel's next event.
 * - Only an event that carries text for several channels at once cannot be deferred; text still held when
 *   such a channel ends goes out in a synthetic delta event (a "carrier") before the event that ended it.
 */
import type { TextChannel } from "./channel.js";
import type { StreamFamily } from "./response-block.js";
import {
  type Carrier,
  type ChannelSpec,
  eventFamily,
  isObject,
  type JsonObject,
  rewriteEvent,
  type Touch,
} from "./sse-events.js";
import { type SseEvent, SseFramer } from "./sse-parser.js";

export interface SseHost {
  newChannel(key: string, textual: boolean): TextChannel;
  maskOther(value: string, location: string, key?: string | number): string;
  /** A finding stopped the response (mode "block"): process no further events. */
  stopped(): boolean;
}

interface Deferred {
  ev: SseEvent;
  obj: JsonObject;
  touch: Touch;
  changed: boolean;
}

interface Entry {
  channel: TextChannel;
  spec: ChannelSpec;
  deferred: Deferred | undefined;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function isDataLine(text: string): boolean {
  return text === "data" || text.startsWith("data:");
}

export class SseStream {
  family: StreamFamily;
  /** Line ending the upstream uses (for events we write). */
  eol = "\n";
  lastSequence: number | undefined;
  private eventNo = 0;
  private readonly framer = new SseFramer();
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly host: SseHost,
    family: StreamFamily,
  ) {
    this.family = family;
  }

  get buffered(): number {
    return this.framer.buffered;
  }

  drain(): Uint8Array {
    return this.framer.drain();
  }

  /** Masked bytes for `chunk`; `same`: they are `chunk` itself, unchanged. */
  feed(chunk: Uint8Array): { out: Uint8Array[]; same: boolean } {
    const events: SseEvent[] = [];
    let same = this.framer.buffered === 0;
    this.framer.feed(chunk, events);
    const out: Uint8Array[] = [];
    for (const ev of events) {
      const bytes = this.event(ev);
      if (this.host.stopped()) return { out, same: false };
      if (bytes.length !== 1 || bytes[0] !== ev.raw) same = false;
      out.push(...bytes);
    }
    return { out, same: same && this.framer.buffered === 0 };
  }

  /** End of the response: the last event if unterminated, then everything still held. */
  finish(): Uint8Array[] {
    const events: SseEvent[] = [];
    this.framer.finish(events);
    const out: Uint8Array[] = [];
    for (const ev of events) {
      const bytes = this.event(ev);
      if (this.host.stopped()) return out;
      out.push(...bytes);
    }
    out.push(...this.end(null, undefined));
    return out;
  }

  /** Release every channel (deferred events with the rest of their text, carriers where needed). */
  endAll(): Uint8Array[] {
    return this.end(null, undefined);
  }

  /** Completion text per channel that counts as completion text. */
  parts(): Array<{ choice: number; order: number; text: string }> {
    return [...this.entries.values()]
      .filter((e) => e.spec.textual)
      .map((e) => ({ choice: e.spec.choice, order: e.spec.order, text: e.channel.text() }));
  }

  private readonly eventHost = {
    push: (spec: ChannelSpec, delta: string): string => {
      let entry = this.entries.get(spec.key);
      if (entry === undefined) {
        entry = { channel: this.host.newChannel(spec.key, spec.textual), spec, deferred: undefined };
        this.entries.set(spec.key, entry);
      } else entry.spec = spec;
      entry.channel.closed = false;
      return entry.channel.push(delta);
    },
    maskOther: (value: string, location: string, key?: string | number): string =>
      this.host.maskOther(value, location, key),
  };

  /** The bytes to send for one event (none when it is deferred). */
  private event(ev: SseEvent): Uint8Array[] {
    if (ev.lines.length === 0) return [ev.raw];
    const last = ev.lines[ev.lines.length - 1]!;
    if (last.eolEnd > last.end) this.eol = decoder.decode(ev.raw.subarray(last.end, last.eolEnd));
    const dataLines = ev.lines.filter((l) => isDataLine(l.text));
    if (dataLines.length === 0) return [ev.raw];
    const data = dataLines
      .map((l) => (l.text.startsWith("data: ") ? l.text.slice(6) : l.text.slice(5)))
      .join("\n");
    const n = this.eventNo++;
    if (data === "[DONE]") return [...this.end(null, undefined), ev.raw];
    let obj: unknown;
    try {
      obj = JSON.parse(data);
    } catch {
      obj = undefined;
    }
    if (!isObject(obj)) {
      const masked = this.host.maskOther(data, `event[${n}]`);
      return [masked === data ? ev.raw : this.rebuild(ev, masked.split("\n"))];
    }
    this.family = eventFamily(obj) ?? this.family;
    if (typeof obj.sequence_number === "number") this.lastSequence = obj.sequence_number;
    const rw = rewriteEvent(obj, this.eventHost, n);
    const pre: Uint8Array[] = [];
    for (const t of rw.touched) {
      const entry = this.entries.get(t.key)!;
      if (entry.deferred !== undefined) {
        pre.push(this.render(entry.deferred, ""));
        entry.deferred = undefined;
      }
    }
    for (const prefix of rw.ends) pre.push(...this.end(prefix, rw.touched));
    if (rw.touched.length === 1) {
      const entry = this.entries.get(rw.touched[0]!.key)!;
      if (!entry.channel.closed && entry.channel.held > 0) {
        entry.deferred = {
          ev: { raw: ev.raw.slice(), lines: ev.lines },
          obj,
          touch: rw.touched[0]!,
          changed: rw.changed,
        };
        return pre;
      }
    }
    pre.push(rw.changed ? this.rebuild(ev, [JSON.stringify(obj)]) : ev.raw);
    return pre;
  }

  /** End the channels under `prefix` (all for null); text for a channel this event carries goes into it. */
  private end(prefix: string | null, touched: readonly Touch[] | undefined): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const entry of this.entries.values()) {
      const key = entry.spec.key;
      if (entry.channel.closed) continue;
      if (prefix !== null && key !== prefix && !key.startsWith(`${prefix}.`) && !key.startsWith(`${prefix}[`))
        continue;
      const rest = entry.channel.flush();
      const here = touched?.find((t) => t.key === key);
      if (here !== undefined) {
        if (rest !== "") here.set(here.get() + rest);
      } else if (entry.deferred !== undefined) {
        out.push(this.render(entry.deferred, rest));
        entry.deferred = undefined;
      } else if (rest !== "") out.push(this.carrier(entry.spec.carrier(rest)));
    }
    return out;
  }

  private render(d: Deferred, extra: string): Uint8Array {
    if (extra !== "") {
      d.touch.set(d.touch.get() + extra);
      d.changed = true;
    }
    return d.changed ? this.rebuild(d.ev, [JSON.stringify(d.obj)]) : d.ev.raw;
  }

  /** The event with its data lines replaced by `data` lines; other lines and line ends kept. */
  private rebuild(ev: SseEvent, data: string[]): Uint8Array {
    const parts: Uint8Array[] = [];
    let wroteData = false;
    for (const line of ev.lines) {
      if (!isDataLine(line.text)) {
        parts.push(ev.raw.subarray(line.start, line.eolEnd));
        continue;
      }
      if (wroteData) continue;
      wroteData = true;
      const eol = line.eolEnd > line.end ? decoder.decode(ev.raw.subarray(line.end, line.eolEnd)) : "";
      parts.push(encoder.encode(data.map((d) => `data: ${d}`).join(eol || "\n") + eol));
    }
    parts.push(ev.raw.subarray(ev.lines[ev.lines.length - 1]!.eolEnd));
    return concatBytes(parts);
  }

  private carrier(c: Carrier): Uint8Array {
    const head = c.event === undefined ? "" : `event: ${c.event}${this.eol}`;
    return encoder.encode(`${head}data: ${JSON.stringify(c.data)}${this.eol}${this.eol}`);
  }
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
