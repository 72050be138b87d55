/**
 * Response side. One redactor per response:
 * - `text/event-stream`: events are rewritten as they arrive; only a tail that could still be the start of a
 *   secret is held back (sse-events.ts, channel.ts);
 * - anything else: buffered up to `maxBufferBytes` and redacted as a document at end();
 * - past a limit (a body over `maxBufferBytes`, one SSE event over `maxEventBytes`): the rest is redacted as
 *   plain text and `degraded` says why.
 * Mode "block" cannot unsend bytes: it stops the stream with an error event the client can show.
 */
import { TextChannel } from "./channel.js";
import type { Detector } from "./detector.js";
import { maskString, redactDocument } from "./document.js";
import { RedactError } from "./errors.js";
import type { PathSegment } from "./json-strings.js";
import { actionFor, builtinDetector } from "./request.js";
import { blockBody, blockEvent, type StreamFamily } from "./response-block.js";
import {
  type Carrier,
  type ChannelEntry,
  type ChannelSpec,
  eventFamily,
  flushToCarriers,
  isObject,
  rewriteEvent,
} from "./sse-events.js";
import { type SseEvent, SseFramer } from "./sse-parser.js";
import type { EndpointKind, Finding, RedactMode, RedactOptions } from "./types.js";

export interface ResponseInput {
  kind: EndpointKind;
  contentType: string | undefined;
}

export interface ResponseRedactorOptions extends RedactOptions {
  /** Most characters a stream channel may hold back while a secret is undecided (default 16384). */
  maxHoldBytes?: number;
  /** Most bytes of a non-stream body buffered for JSON-aware redaction (default 8 MiB). */
  maxBufferBytes?: number;
  /** Most bytes of one SSE event (default 1 MiB). */
  maxEventBytes?: number;
  /** Keep the masked bytes for takeRecord(): needed in mode "report", where the client gets the original. */
  record?: boolean;
}

export interface ResponseRedactor {
  /** Bytes that may go to the client now; may be empty while a possible secret is held. */
  push(chunk: Uint8Array): Uint8Array;
  /** The rest. After end(), push() and end() throw `redactor_closed`. */
  end(): Uint8Array;
  readonly findings: Finding[];
  /** Assembled masked completion text (choices in index order, separated by `--- choice N ---` lines). */
  completionText(): string;
  readonly isStream: boolean;
  /** Set once a secret stopped the response (mode "block"). */
  readonly blocked: { ruleId: string; location: string } | undefined;
  /** Set when a size limit made the redactor fall back to plain-text redaction; says which. */
  readonly degraded: string | undefined;
  /** With `record: true`: the masked bytes produced since the last call (for the audit record). */
  takeRecord(): Uint8Array;
}

const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();

function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 0) return EMPTY;
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

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0)
    throw new RedactError("invalid_config", `${name} must be a positive integer`);
  return value;
}

/** Non-stream JSON paths that hold completion text: [choice, order] or undefined. */
function completionSlot(seg: PathSegment[]): [number, number] | undefined {
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

class Redactor implements ResponseRedactor {
  readonly findings: Finding[] = [];
  readonly isStream: boolean;
  blocked: { ruleId: string; location: string } | undefined;
  degraded: string | undefined;

  private readonly mode: RedactMode;
  private readonly detector: Detector;
  private readonly fingerprint: (secret: string) => string;
  private readonly maxHold: number;
  private readonly maxBuffer: number;
  private readonly maxEvent: number;
  private readonly record: Uint8Array[] | undefined;
  private ended = false;

  // SSE state
  private readonly framer = new SseFramer();
  private readonly channels = new Map<string, ChannelEntry & { spec: ChannelSpec }>();
  private readonly seen = new Set<string>();
  private family: StreamFamily;
  private eventNo = 0;
  private eol = "\n";
  private lastSequence: number | undefined;
  private blockPending: { ruleId: string; location: string } | undefined;

  // non-stream state
  private readonly buffered: Uint8Array[] = [];
  private bufferedBytes = 0;
  private readonly slots: Array<{ choice: number; order: number; text: string }> = [];

  // plain-text fallback
  private text: { decoder: InstanceType<typeof TextDecoder>; channel: TextChannel } | undefined;

  constructor(
    private readonly input: ResponseInput,
    opts: ResponseRedactorOptions,
  ) {
    // Masking the token exchange would break the client: its bearer token is the point of the response.
    const mode = opts.mode ?? "mask";
    this.mode = input.kind === "token" && (mode === "mask" || mode === "block") ? "report" : mode;
    this.detector = opts.detector ?? builtinDetector();
    this.fingerprint = opts.fingerprint;
    this.maxHold = positive(opts.maxHoldBytes, 16_384, "maxHoldBytes");
    this.maxBuffer = positive(opts.maxBufferBytes, 8 << 20, "maxBufferBytes");
    this.maxEvent = positive(opts.maxEventBytes, 1 << 20, "maxEventBytes");
    this.record = opts.record ? [] : undefined;
    this.isStream = /^\s*text\/event-stream/i.test(input.contentType ?? "");
    this.family =
      input.kind === "messages" ? "anthropic" : input.kind === "responses" ? "responses" : "openai";
  }

  push(chunk: Uint8Array): Uint8Array {
    if (this.ended) throw new RedactError("redactor_closed", "push() after end()");
    if (this.blocked !== undefined || chunk.length === 0) return EMPTY;
    if (this.text !== undefined) return this.textPush(chunk, false);
    return this.isStream ? this.ssePush(chunk) : this.bufferPush(chunk);
  }

  end(): Uint8Array {
    if (this.ended) throw new RedactError("redactor_closed", "end() called twice");
    this.ended = true;
    if (this.blocked !== undefined) return EMPTY;
    if (this.text !== undefined) return this.textPush(EMPTY, true);
    return this.isStream ? this.sseEnd() : this.bufferEnd();
  }

  completionText(): string {
    const parts: Array<{ choice: number; order: number; text: string }> = [...this.slots];
    for (const e of this.channels.values()) {
      if (e.spec.textual) parts.push({ choice: e.spec.choice, order: e.spec.order, text: e.channel.text() });
    }
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

  takeRecord(): Uint8Array {
    if (this.record === undefined) return EMPTY;
    const out = concat(this.record);
    this.record.length = 0;
    return out;
  }

  // ---------------------------------------------------------------- findings

  private addFinding(
    ruleId: string,
    description: string,
    location: string,
    offset: number,
    length: number,
    secret: string,
    dedupe: boolean,
  ): void {
    const fingerprint = this.fingerprint(secret);
    const id = `${ruleId}\u0000${fingerprint}`;
    if (dedupe && this.seen.has(id)) return;
    this.seen.add(id);
    this.findings.push({
      direction: "response",
      ruleId,
      description,
      location,
      offset,
      length,
      fingerprint,
      action: actionFor(this.mode),
    });
    if (this.mode === "block") this.blockPending ??= { ruleId, location };
  }

  private newChannel(key: string, location: string, textual: boolean): TextChannel {
    return new TextChannel(key, location, textual, {
      detector: this.detector,
      scan: this.mode !== "off",
      maxHold: this.maxHold,
      onSecret: (s) =>
        this.addFinding(s.ruleId, s.description, location, s.offset, s.length, s.secret, false),
    });
  }

  /** Output for the client and the record: `masked` in mask/block, `original` in report/off. */
  private emit(original: Uint8Array, masked: Uint8Array): Uint8Array {
    this.record?.push(masked);
    return this.mode === "report" || this.mode === "off" ? original : masked;
  }

  // ---------------------------------------------------------------- SSE

  private readonly host = {
    channel: (spec: ChannelSpec): ChannelEntry => {
      let entry = this.channels.get(spec.key);
      if (entry === undefined) {
        entry = {
          channel: this.newChannel(spec.key, spec.key, spec.textual),
          kind: spec.kind,
          toolIndex: spec.toolIndex ?? 0,
          carrier: spec.carrier,
          spec,
        };
        this.channels.set(spec.key, entry);
      } else entry.carrier = spec.carrier;
      entry.channel.closed = false;
      return entry;
    },
    open: (prefix?: string): ChannelEntry[] =>
      [...this.channels.values()].filter(
        (e) =>
          !e.channel.closed &&
          (prefix === undefined ||
            e.spec.key === prefix ||
            e.spec.key.startsWith(`${prefix}.`) ||
            e.spec.key.startsWith(`${prefix}[`)),
      ),
    maskOther: (value: string, location: string): string => {
      if (this.mode === "off") return value;
      const secrets: Parameters<typeof maskString>[3] = [];
      const out = maskString(value, location, this.detector, secrets);
      for (const s of secrets)
        this.addFinding(s.ruleId, s.description, s.location, s.offset, s.length, s.secret, true);
      return out;
    },
  };

  private ssePush(chunk: Uint8Array): Uint8Array {
    const events: SseEvent[] = [];
    const hadRest = this.framer.buffered > 0;
    this.framer.feed(chunk, events);
    const out: Uint8Array[] = [];
    let same = !hadRest;
    for (const ev of events) {
      const bytes = this.sseEvent(ev);
      if (this.blockPending !== undefined) return this.stop(out);
      if (bytes !== ev.raw) same = false;
      out.push(bytes);
    }
    if (this.framer.buffered > this.maxEvent) {
      this.degraded = `an SSE event exceeded maxEventBytes (${this.maxEvent}); the rest of the stream was redacted as plain text`;
      out.push(this.carrierBytes(flushToCarriers(this.host)));
      const rest = this.framer.drain();
      this.text = { decoder: new TextDecoder(), channel: this.newChannel("text", "text", false) };
      out.push(this.textPush(rest, false, true));
      if (this.blockPending !== undefined) return this.stop(out.slice(0, -1));
      return this.emit(chunk, concat(out));
    }
    const masked = same && this.framer.buffered === 0 ? chunk : concat(out);
    return this.emit(chunk, masked);
  }

  private sseEnd(): Uint8Array {
    const events: SseEvent[] = [];
    this.framer.finish(events);
    const out: Uint8Array[] = [];
    for (const ev of events) {
      out.push(this.sseEvent(ev));
      if (this.blockPending !== undefined) return this.stop(out.slice(0, -1));
    }
    out.push(this.carrierBytes(flushToCarriers(this.host)));
    if (this.blockPending !== undefined) return this.stop(out.slice(0, -1));
    // In report/off every byte already went out with push().
    return this.emit(EMPTY, concat(out));
  }

  /** The masked bytes of one event (its own `raw` when nothing changed). */
  private sseEvent(ev: SseEvent): Uint8Array {
    if (ev.lines.length === 0) return ev.raw;
    const last = ev.lines[ev.lines.length - 1]!;
    if (last.eolEnd > last.end) this.eol = new TextDecoder().decode(ev.raw.subarray(last.end, last.eolEnd));
    const dataLines = ev.lines.filter((l) => l.text === "data" || l.text.startsWith("data:"));
    if (dataLines.length === 0) return ev.raw;
    const data = dataLines
      .map((l) => (l.text.startsWith("data: ") ? l.text.slice(6) : l.text.slice(5)))
      .join("\n");
    const n = this.eventNo++;
    if (data === "[DONE]") {
      const carriers = flushToCarriers(this.host);
      return carriers.length === 0 ? ev.raw : concat([this.carrierBytes(carriers), ev.raw]);
    }
    let obj: unknown;
    try {
      obj = JSON.parse(data);
    } catch {
      return this.rawEvent(ev, data, n);
    }
    if (!isObject(obj)) return this.rawEvent(ev, data, n);
    this.family = eventFamily(obj) ?? this.family;
    if (typeof obj.sequence_number === "number") this.lastSequence = obj.sequence_number;
    const { changed, before } = rewriteEvent(obj, this.host, n);
    const body = changed ? this.rebuild(ev, [JSON.stringify(obj)]) : ev.raw;
    return before.length === 0 ? body : concat([this.carrierBytes(before), body]);
  }

  /** An event whose data is not a JSON object: scanned as text, rewritten only if a secret is in it. */
  private rawEvent(ev: SseEvent, data: string, n: number): Uint8Array {
    const masked = this.host.maskOther(data, `event[${n}]`);
    return masked === data ? ev.raw : this.rebuild(ev, masked.split("\n"));
  }

  /** The event with its data lines replaced by `data` lines; other lines and line ends kept. */
  private rebuild(ev: SseEvent, data: string[]): Uint8Array {
    const parts: Uint8Array[] = [];
    let wroteData = false;
    for (const line of ev.lines) {
      const isData = line.text === "data" || line.text.startsWith("data:");
      if (!isData) {
        parts.push(ev.raw.subarray(line.start, line.eolEnd));
        continue;
      }
      if (wroteData) continue;
      wroteData = true;
      const eol =
        line.eolEnd > line.end ? new TextDecoder().decode(ev.raw.subarray(line.end, line.eolEnd)) : "";
      parts.push(encoder.encode(data.map((d) => `data: ${d}`).join(eol || "\n") + eol));
    }
    const last = ev.lines[ev.lines.length - 1]!;
    parts.push(ev.raw.subarray(last.eolEnd));
    return concat(parts);
  }

  private carrierBytes(carriers: readonly Carrier[]): Uint8Array {
    if (carriers.length === 0) return EMPTY;
    const eol = this.eol;
    let s = "";
    for (const c of carriers) {
      if (c.event !== undefined) s += `event: ${c.event}${eol}`;
      s += `data: ${JSON.stringify(c.data)}${eol}${eol}`;
    }
    return encoder.encode(s);
  }

  /** Mode "block": send what was decided before the secret, then the error event, then nothing more. */
  private stop(before: Uint8Array[]): Uint8Array {
    const cause = this.blockPending!;
    this.blocked = cause;
    const event = this.isStream
      ? blockEvent(this.family, cause, this.eol, this.lastSequence)
      : blockBody(cause);
    const out = concat([...before, event]);
    this.record?.push(out);
    return out;
  }

  // ---------------------------------------------------------------- non-stream

  private bufferPush(chunk: Uint8Array): Uint8Array {
    if (this.bufferedBytes + chunk.length > this.maxBuffer) {
      this.degraded = `the body exceeded maxBufferBytes (${this.maxBuffer}); it was redacted as plain text`;
      this.text = { decoder: new TextDecoder(), channel: this.newChannel("text", "text", false) };
      const head = this.textPush(concat(this.buffered), false, true);
      this.buffered.length = 0;
      const tail = this.textPush(chunk, false, true);
      if (this.blockPending !== undefined) return this.stop([]);
      // In report/off the buffered bytes already went out: only `chunk` is new for the client.
      return this.emit(chunk, concat([head, tail]));
    }
    this.buffered.push(chunk.slice());
    this.bufferedBytes += chunk.length;
    if (this.mode === "report" || this.mode === "off") return chunk;
    return EMPTY;
  }

  private bufferEnd(): Uint8Array {
    const original = concat(this.buffered);
    if (this.mode === "off") {
      this.collectOff(original);
      this.record?.push(original);
      return EMPTY;
    }
    const text = new TextDecoder().decode(original);
    const doc = redactDocument(text, this.input.contentType, this.detector, (seg, masked) => {
      const slot = completionSlot(seg);
      if (slot !== undefined) this.slots.push({ choice: slot[0], order: slot[1], text: masked });
    });
    if (doc.format === "text") this.slots.push({ choice: 0, order: 0, text: doc.text });
    for (const s of doc.secrets)
      this.addFinding(s.ruleId, s.description, s.location, s.offset, s.length, s.secret, false);
    if (this.blockPending !== undefined) return this.stop([]);
    const masked = doc.secrets.length === 0 ? original : encoder.encode(doc.text);
    const out = this.emit(original, masked);
    return this.mode === "report" ? EMPTY : out;
  }

  /** Mode "off": no scanning, only the completion text for the record. */
  private collectOff(body: Uint8Array): void {
    const text = new TextDecoder().decode(body);
    try {
      redactDocument(text, this.input.contentType, createPassThrough(), (seg, value) => {
        const slot = completionSlot(seg);
        if (slot !== undefined) this.slots.push({ choice: slot[0], order: slot[1], text: value });
      });
    } catch {
      // not a document we understand: no completion text
    }
  }

  // ---------------------------------------------------------------- plain-text fallback

  private textPush(chunk: Uint8Array, final: boolean, internal = false): Uint8Array {
    const t = this.text!;
    let out = t.channel.push(t.decoder.decode(chunk, { stream: !final }));
    if (final) out += t.channel.flush();
    if (this.blockPending !== undefined) return internal ? EMPTY : this.stop([]);
    const masked = encoder.encode(out);
    return internal ? masked : this.emit(chunk, masked);
  }
}

/** A detector that finds nothing (mode "off" walks documents only to collect completion text). */
function createPassThrough(): Detector {
  return {
    ruleIds: [],
    contextLength: 0,
    scan: () => [],
    step: (text) => ({ detections: [], hold: text.length }),
    ruleHoldingAt: () => undefined,
  };
}

export function createResponseRedactor(
  input: ResponseInput,
  opts: ResponseRedactorOptions,
): ResponseRedactor {
  return new Redactor(input, opts);
}
