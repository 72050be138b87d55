/**
 * Response side. One redactor per response:
 * - `text/event-stream`: events are rewritten as they arrive; only a tail that could still be the start of a
 *   secret is held back (sse-stream.ts, channel.ts);
 * - anything else: buffered up to `maxBufferBytes` and redacted as a document at end();
 * - past a limit (a body over `maxBufferBytes`, one SSE event over `maxEventBytes`): the rest is redacted as
 *   plain text and `degraded` says why.
 * Mode "block" cannot unsend bytes: it stops the stream with an error event the client can show.
 */
import { TextChannel } from "./channel.js";
import { type CompletionPart, completionSlot, joinCompletion } from "./completion.js";
import type { Detector } from "./detector.js";
import { type DocumentSecret, maskString, redactDocument } from "./document.js";
import { RedactError } from "./errors.js";
import { actionFor, builtinDetector } from "./request.js";
import { blockBody, blockEvent } from "./response-block.js";
import { concatBytes, SseStream } from "./sse-stream.js";
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
  return parts.length === 0 ? EMPTY : concatBytes(parts);
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0)
    throw new RedactError("invalid_config", `${name} must be a positive integer`);
  return value;
}

/** A detector that finds nothing: mode "off" walks documents only to collect the completion text. */
const NOTHING: Detector = {
  ruleIds: [],
  contextLength: 0,
  scan: () => [],
  step: (text) => ({ detections: [], hold: text.length }),
  ruleHoldingAt: () => undefined,
};

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
  private readonly sse: SseStream;
  private readonly seen = new Set<string>();
  private blockPending: { ruleId: string; location: string } | undefined;
  private ended = false;
  private readonly buffered: Uint8Array[] = [];
  private bufferedBytes = 0;
  private readonly slots: CompletionPart[] = [];
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
    const family =
      input.kind === "messages" ? "anthropic" : input.kind === "responses" ? "responses" : "openai";
    this.sse = new SseStream(
      {
        newChannel: (key, textual) => this.newChannel(key, textual),
        maskOther: (value, location, key) => this.maskOther(value, location, key),
        stopped: () => this.blockPending !== undefined,
      },
      family,
    );
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
    return joinCompletion([...this.slots, ...this.sse.parts()]);
  }

  takeRecord(): Uint8Array {
    if (this.record === undefined) return EMPTY;
    const out = concat(this.record);
    this.record.length = 0;
    return out;
  }

  // ---------------------------------------------------------------- findings and channels

  private addFinding(s: DocumentSecret, dedupe: boolean): void {
    const fingerprint = this.fingerprint(s.secret);
    const id = `${s.ruleId}\u0000${fingerprint}`;
    if (dedupe && this.seen.has(id)) return;
    this.seen.add(id);
    const { ruleId, description, location, offset, length } = s;
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

  private newChannel(location: string, textual: boolean): TextChannel {
    return new TextChannel(location, location, textual, {
      detector: this.detector,
      scan: this.mode !== "off",
      maxHold: this.maxHold,
      onSecret: (s) => this.addFinding({ ...s, location }, false),
    });
  }

  /** A string outside any channel (other event fields, non-JSON event data). Repeats of a secret are not re-recorded. */
  private maskOther(value: string, location: string, key?: string | number): string {
    if (this.mode === "off") return value;
    const secrets: DocumentSecret[] = [];
    const out = maskString(value, location, this.detector, secrets, 0, key);
    for (const s of secrets) this.addFinding(s, true);
    return out;
  }

  /** Output for the client (`masked` in mask/block, `original` in report/off) and for the record (`masked`). */
  private emit(original: Uint8Array, masked: Uint8Array): Uint8Array {
    this.record?.push(masked);
    return this.mode === "report" || this.mode === "off" ? original : masked;
  }

  /** Mode "block": send what was decided before the secret, then the error, then nothing more. */
  private stop(before: Uint8Array[]): Uint8Array {
    const cause = this.blockPending!;
    this.blocked = cause;
    const tail = this.isStream
      ? blockEvent(this.sse.family, cause, this.sse.eol, this.sse.lastSequence)
      : blockBody(cause);
    const out = concat([...before, tail]);
    this.record?.push(out);
    return out;
  }

  // ---------------------------------------------------------------- SSE

  private ssePush(chunk: Uint8Array): Uint8Array {
    const { out, same } = this.sse.feed(chunk);
    if (this.blockPending !== undefined) return this.stop(out);
    if (this.sse.buffered > this.maxEvent) {
      this.degraded = `an SSE event exceeded maxEventBytes (${this.maxEvent}); the rest of the stream was redacted as plain text`;
      out.push(...this.sse.endAll());
      this.text = { decoder: new TextDecoder(), channel: this.newChannel("text", false) };
      const rest = this.textPush(this.sse.drain(), false, true);
      if (this.blockPending !== undefined) return this.stop(out);
      out.push(rest);
      return this.emit(chunk, concat(out));
    }
    return this.emit(chunk, same ? chunk : concat(out));
  }

  private sseEnd(): Uint8Array {
    const out = this.sse.finish();
    if (this.blockPending !== undefined) return this.stop(out);
    // In report/off every byte already went out with push().
    return this.emit(EMPTY, concat(out));
  }

  // ---------------------------------------------------------------- non-stream

  private bufferPush(chunk: Uint8Array): Uint8Array {
    if (this.bufferedBytes + chunk.length > this.maxBuffer) {
      this.degraded = `the body exceeded maxBufferBytes (${this.maxBuffer}); it was redacted as plain text`;
      this.text = { decoder: new TextDecoder(), channel: this.newChannel("text", false) };
      const head = this.textPush(concat(this.buffered), false, true);
      this.buffered.length = 0;
      const tail = this.textPush(chunk, false, true);
      if (this.blockPending !== undefined) return this.stop([]);
      // In report/off the buffered bytes already went out: only `chunk` is new for the client.
      return this.emit(chunk, concat([head, tail]));
    }
    this.buffered.push(chunk.slice());
    this.bufferedBytes += chunk.length;
    return this.mode === "report" || this.mode === "off" ? chunk : EMPTY;
  }

  private bufferEnd(): Uint8Array {
    const original = concat(this.buffered);
    const text = new TextDecoder().decode(original);
    const detector = this.mode === "off" ? NOTHING : this.detector;
    const doc = redactDocument(text, this.input.contentType, detector, (seg, masked) => {
      const slot = completionSlot(seg);
      if (slot !== undefined) this.slots.push({ choice: slot[0], order: slot[1], text: masked });
    });
    if (doc.format === "text") this.slots.push({ choice: 0, order: 0, text: doc.text });
    for (const s of doc.secrets) this.addFinding(s, false);
    if (this.blockPending !== undefined) return this.stop([]);
    const masked = doc.secrets.length === 0 ? original : encoder.encode(doc.text);
    // In report/off the body already went out with push().
    return this.emit(EMPTY, masked) === EMPTY ? EMPTY : masked;
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

export function createResponseRedactor(
  input: ResponseInput,
  opts: ResponseRedactorOptions,
): ResponseRedactor {
  return new Redactor(input, opts);
}
