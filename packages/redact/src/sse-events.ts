/**
 * What each stream format puts in its events (pure functions on the parsed JSON; sse-stream.ts does the rest):
 * - OpenAI completions: `choices[].text`; chat: `choices[].delta.content`, `choices[].delta.tool_calls[].function.arguments`;
 *   a choice's `finish_reason` ends its channels;
 * - OpenAI Responses: `response.*.delta` events with a `delta` string; the matching `.done`, `output_item.done`
 *   and `response.completed` end channels;
 * - Anthropic Messages: `content_block_delta` (`text`, `partial_json`, `thinking`); `content_block_stop`,
 *   `message_delta` and `message_stop` end channels.
 * Every string of an event that is not channel text is scanned on its own.
 */
import { formatPath, type PathSegment } from "./json-strings.js";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** A delta event built from scratch, only when held text has no event of its own to travel in. */
export interface Carrier {
  event: string | undefined;
  data: JsonObject;
}

/** A channel of a stream: the key names it in findings (`choices[0]`, `content[1]`, `output[0].content[0]`). */
export interface ChannelSpec {
  key: string;
  /** Counts as completion text (not tool arguments or reasoning). */
  textual: boolean;
  /** Completion this text belongs to (choice index, Responses output index; 0 for Anthropic). */
  choice: number;
  /** Order within the choice (content index, content block index). */
  order: number;
  carrier: (text: string) => Carrier;
}

/** A channel's text field in this event. */
export interface Touch {
  key: string;
  get(): string;
  set(text: string): void;
}

export interface EventHost {
  /** Feed `delta` to the channel described by `spec`; returns the text to put in the event now. */
  push(spec: ChannelSpec, delta: string): string;
  /** Mask a string that is not part of a channel; `key`: the object key that holds it. */
  maskOther(value: string, location: string, key?: string | number): string;
}

export interface EventRewrite {
  /** The parsed event was modified (re-serialise it). */
  changed: boolean;
  /** Channels this event carries text for, in order. */
  touched: Touch[];
  /** Channels this event ends: a key prefix, or null for all. Applied after `touched`. */
  ends: Array<string | null>;
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

type Skip = Map<object, Set<string>>;

function skip(s: Skip, obj: object, key: string): void {
  const keys = s.get(obj);
  if (keys === undefined) s.set(obj, new Set([key]));
  else keys.add(key);
}

const ENVELOPE = ["id", "object", "created", "model", "system_fingerprint"];

function envelope(obj: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const k of ENVELOPE) if (obj[k] !== undefined) out[k] = obj[k]!;
  return out;
}

class Rewrite implements EventRewrite {
  changed = false;
  readonly touched: Touch[] = [];
  readonly ends: Array<string | null> = [];
  readonly skip: Skip = new Map();
  constructor(private readonly host: EventHost) {}

  /** Push `holder[field]` (a string) into the channel and put the releasable text back. */
  field(spec: ChannelSpec, holder: JsonObject, field: string): void {
    const value = holder[field] as string;
    const out = this.host.push(spec, value);
    if (out !== value) {
      holder[field] = out;
      this.changed = true;
    }
    skip(this.skip, holder, field);
    this.touched.push({
      key: spec.key,
      get: () => (typeof holder[field] === "string" ? (holder[field] as string) : ""),
      set: (text) => {
        holder[field] = text;
        this.changed = true;
      },
    });
  }
}

function openai(obj: JsonObject, choices: Json[], rw: Rewrite): void {
  for (let j = 0; j < choices.length; j++) {
    const c = choices[j];
    if (!isObject(c)) continue;
    const index = typeof c.index === "number" ? c.index : j;
    const base = `choices[${index}]`;
    if (typeof c.text === "string") {
      const carrier = (t: string): Carrier => ({
        event: undefined,
        data: { ...envelope(obj), choices: [{ text: t, index, finish_reason: null }] },
      });
      rw.field({ key: base, textual: true, choice: index, order: 0, carrier }, c, "text");
    }
    const delta = c.delta;
    if (isObject(delta)) {
      if (typeof delta.content === "string") {
        const carrier = (t: string): Carrier => ({
          event: undefined,
          data: { ...envelope(obj), choices: [{ index, delta: { content: t }, finish_reason: null }] },
        });
        rw.field({ key: base, textual: true, choice: index, order: 0, carrier }, delta, "content");
      }
      const calls = delta.tool_calls;
      if (Array.isArray(calls)) {
        for (let k = 0; k < calls.length; k++) {
          const call = calls[k];
          if (!isObject(call) || !isObject(call.function) || typeof call.function.arguments !== "string")
            continue;
          const toolIndex = typeof call.index === "number" ? call.index : k;
          const carrier = (t: string): Carrier => ({
            event: undefined,
            data: {
              ...envelope(obj),
              choices: [
                {
                  index,
                  delta: { tool_calls: [{ index: toolIndex, function: { arguments: t } }] },
                  finish_reason: null,
                },
              ],
            },
          });
          const key = `${base}.tool_calls[${toolIndex}]`;
          rw.field(
            { key, textual: false, choice: index, order: 1 + toolIndex, carrier },
            call.function,
            "arguments",
          );
        }
      }
    }
    if (typeof c.finish_reason === "string") rw.ends.push(base);
  }
}

const ANTHROPIC_FIELDS: Record<string, string> = {
  text_delta: "text",
  input_json_delta: "partial_json",
  thinking_delta: "thinking",
};

function anthropic(obj: JsonObject, type: string, rw: Rewrite): void {
  const index = typeof obj.index === "number" ? obj.index : 0;
  if (type === "content_block_delta" && isObject(obj.delta)) {
    const delta = obj.delta;
    const deltaType = typeof delta.type === "string" ? delta.type : "text_delta";
    const field = ANTHROPIC_FIELDS[deltaType];
    if (field === undefined || typeof delta[field] !== "string") return;
    const carrier = (t: string): Carrier => ({
      event: "content_block_delta",
      data: { type: "content_block_delta", index, delta: { type: deltaType, [field]: t } },
    });
    const key = field === "text" ? `content[${index}]` : `content[${index}].${field}`;
    rw.field({ key, textual: field === "text", choice: 0, order: index, carrier }, delta, field);
  } else if (type === "content_block_stop") rw.ends.push(`content[${index}]`);
  else if (type === "message_delta" || type === "message_stop") rw.ends.push(null);
}

function responsesKey(obj: JsonObject, stem: string): string {
  let key = `output[${typeof obj.output_index === "number" ? obj.output_index : 0}]`;
  if (typeof obj.content_index === "number") key += `.content[${obj.content_index}]`;
  if (typeof obj.summary_index === "number") key += `.summary[${obj.summary_index}]`;
  return stem === "output_text" ? key : `${key}.${stem}`;
}

const RESPONSE_END = new Set([
  "response.completed",
  "response.incomplete",
  "response.failed",
  "response.done",
]);

function responses(obj: JsonObject, type: string, rw: Rewrite): void {
  if (type.endsWith(".delta") && typeof obj.delta === "string") {
    const stem = type.slice("response.".length, -".delta".length);
    const template: JsonObject = { ...obj };
    if (Array.isArray(template.logprobs)) template.logprobs = [];
    const spec: ChannelSpec = {
      key: responsesKey(obj, stem),
      textual: stem === "output_text",
      choice: typeof obj.output_index === "number" ? obj.output_index : 0,
      order: typeof obj.content_index === "number" ? obj.content_index : 0,
      carrier: (t) => ({ event: type, data: { ...template, delta: t } }),
    };
    rw.field(spec, obj, "delta");
    return;
  }
  if (type.endsWith(".done")) {
    const stem = type.slice("response.".length, -".done".length);
    if (stem === "output_item")
      rw.ends.push(`output[${typeof obj.output_index === "number" ? obj.output_index : 0}]`);
    else rw.ends.push(responsesKey(obj, stem));
  }
  if (RESPONSE_END.has(type)) rw.ends.push(null);
}

/** Mask every string of `v` not claimed by a channel. */
function maskOthers(v: Json, segments: PathSegment[], rw: Rewrite, host: EventHost, prefix: string): void {
  const visit = (value: Json, key: PathSegment, set: (s: string) => void): void => {
    if (typeof value === "string") {
      const out = host.maskOther(value, prefix + formatPath([...segments, key]).slice(1), key);
      if (out !== value) {
        set(out);
        rw.changed = true;
      }
    } else if (typeof value === "object" && value !== null)
      maskOthers(value, [...segments, key], rw, host, prefix);
  };
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) visit(v[i]!, i, (s) => (v[i] = s));
  } else if (isObject(v)) {
    const skipped = rw.skip.get(v);
    for (const key of Object.keys(v)) {
      if (!skipped?.has(key)) visit(v[key]!, key, (s) => (v[key] = s));
    }
  }
}

/** Rewrite one parsed event in place. `eventNo` names it in findings of other strings (`event[<n>]…`). */
export function rewriteEvent(obj: JsonObject, host: EventHost, eventNo: number): EventRewrite {
  const rw = new Rewrite(host);
  const type = typeof obj.type === "string" ? obj.type : undefined;
  if (Array.isArray(obj.choices)) openai(obj, obj.choices, rw);
  else if (type?.startsWith("response.")) responses(obj, type, rw);
  else if (type !== undefined) anthropic(obj, type, rw);
  maskOthers(obj, [], rw, host, `event[${eventNo}]`);
  return rw;
}

/** Which family of stream an event belongs to (for the shape of a block event). */
export function eventFamily(obj: JsonObject): "openai" | "responses" | "anthropic" | undefined {
  if ("choices" in obj) return "openai";
  const type = obj.type;
  if (typeof type !== "string") return undefined;
  return type.startsWith("response.") ? "responses" : "anthropic";
}
