/**
 * What each stream format puts in its events, and how to rewrite them:
 * - OpenAI completions: `choices[].text`; chat: `choices[].delta.content`, `choices[].delta.tool_calls[].function.arguments`;
 *   a choice's `finish_reason` ends its channels (held text is added to that event);
 * - OpenAI Responses: `response.*.delta` events with a `delta` string; the matching `.done`, `output_item.done`
 *   and `response.completed` end channels;
 * - Anthropic Messages: `content_block_delta` (`text`, `partial_json`, `thinking`); `content_block_stop`,
 *   `message_delta` and `message_stop` end channels.
 * Text held when a channel ends without an event that can carry it goes out in a "carrier" delta event, sent
 * just before the event that ended the channel. Every other string of an event is scanned on its own.
 */
import type { TextChannel } from "./channel.js";
import { formatPath, type PathSegment } from "./json-strings.js";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** A synthetic delta event: SSE `event:` name (if the format uses one) and its JSON data. */
export interface Carrier {
  event: string | undefined;
  data: JsonObject;
}

export type ChannelKind = "completion" | "chat" | "tool" | "event";

export interface ChannelEntry {
  channel: TextChannel;
  kind: ChannelKind;
  /** Tool call index for kind "tool". */
  toolIndex: number;
  carrier: (text: string) => Carrier;
}

export interface ChannelSpec {
  key: string;
  textual: boolean;
  /** Completion this text belongs to (choice index, Responses output index; 0 for Anthropic). */
  choice: number;
  /** Order within the choice (content index, content block index). */
  order: number;
  kind: ChannelKind;
  toolIndex?: number;
  carrier: (text: string) => Carrier;
}

export interface EventHost {
  channel(spec: ChannelSpec): ChannelEntry;
  /** Open channels whose key is `prefix` or lies under it (`prefix.` / `prefix[`); all when undefined. */
  open(prefix?: string): ChannelEntry[];
  /** Mask a string that is not part of a channel. */
  maskOther(value: string, location: string): string;
}

export interface EventRewrite {
  changed: boolean;
  /** Carrier events to send before this event. */
  before: Carrier[];
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

/** Flush channels (all, or under `prefix`) into carrier events. */
export function flushToCarriers(host: EventHost, prefix?: string): Carrier[] {
  const out: Carrier[] = [];
  for (const entry of host.open(prefix)) {
    const rest = entry.channel.flush();
    if (rest !== "") out.push(entry.carrier(rest));
  }
  return out;
}

function pushInto(entry: ChannelEntry, value: string): string {
  return entry.channel.push(value);
}

function openai(obj: JsonObject, choices: Json[], host: EventHost, s: Skip): boolean {
  let changed = false;
  for (let j = 0; j < choices.length; j++) {
    const c = choices[j];
    if (!isObject(c)) continue;
    const index = typeof c.index === "number" ? c.index : j;
    const base = `choices[${index}]`;
    if (typeof c.text === "string") {
      const entry = host.channel({
        key: base,
        textual: true,
        choice: index,
        order: 0,
        kind: "completion",
        carrier: (t) => ({
          event: undefined,
          data: { ...envelope(obj), choices: [{ text: t, index, finish_reason: null }] },
        }),
      });
      const out = pushInto(entry, c.text);
      if (out !== c.text) {
        c.text = out;
        changed = true;
      }
      skip(s, c, "text");
    }
    const delta = c.delta;
    if (isObject(delta)) {
      if (typeof delta.content === "string") {
        const entry = host.channel({
          key: base,
          textual: true,
          choice: index,
          order: 0,
          kind: "chat",
          carrier: (t) => ({
            event: undefined,
            data: { ...envelope(obj), choices: [{ index, delta: { content: t }, finish_reason: null }] },
          }),
        });
        const out = pushInto(entry, delta.content);
        if (out !== delta.content) {
          delta.content = out;
          changed = true;
        }
        skip(s, delta, "content");
      }
      const calls = delta.tool_calls;
      if (Array.isArray(calls)) {
        for (let k = 0; k < calls.length; k++) {
          const call = calls[k];
          if (!isObject(call) || !isObject(call.function) || typeof call.function.arguments !== "string")
            continue;
          const toolIndex = typeof call.index === "number" ? call.index : k;
          const entry = host.channel({
            key: `${base}.tool_calls[${toolIndex}]`,
            textual: false,
            choice: index,
            order: 1 + toolIndex,
            kind: "tool",
            toolIndex,
            carrier: (t) => ({
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
            }),
          });
          const fn = call.function;
          const args = fn.arguments as string;
          const out = pushInto(entry, args);
          if (out !== args) {
            fn.arguments = out;
            changed = true;
          }
          skip(s, fn, "arguments");
        }
      }
    }
    if (typeof c.finish_reason === "string") {
      for (const entry of host.open(base)) {
        const rest = entry.channel.flush();
        if (rest === "") continue;
        changed = true;
        appendToChoice(c, entry, rest);
      }
    }
  }
  return changed;
}

/** Put text held until the end of a channel into the choice that finishes it. */
function appendToChoice(c: JsonObject, entry: ChannelEntry, rest: string): void {
  if (entry.kind === "completion") {
    c.text = (typeof c.text === "string" ? c.text : "") + rest;
    return;
  }
  const delta: JsonObject = isObject(c.delta) ? c.delta : {};
  c.delta = delta;
  if (entry.kind === "chat") {
    delta.content = (typeof delta.content === "string" ? delta.content : "") + rest;
    return;
  }
  const calls: Json[] = Array.isArray(delta.tool_calls) ? delta.tool_calls : [];
  delta.tool_calls = calls;
  const call = calls.find((x) => isObject(x) && x.index === entry.toolIndex);
  if (isObject(call) && isObject(call.function)) {
    const fn = call.function;
    fn.arguments = (typeof fn.arguments === "string" ? fn.arguments : "") + rest;
  } else calls.push({ index: entry.toolIndex, function: { arguments: rest } });
}

const ANTHROPIC_FIELDS: Record<string, string> = {
  text_delta: "text",
  input_json_delta: "partial_json",
  thinking_delta: "thinking",
};

function anthropic(obj: JsonObject, type: string, host: EventHost, s: Skip, before: Carrier[]): boolean {
  const index = typeof obj.index === "number" ? obj.index : 0;
  if (type === "content_block_delta" && isObject(obj.delta)) {
    const delta = obj.delta;
    const deltaType = typeof delta.type === "string" ? delta.type : "text_delta";
    const field = ANTHROPIC_FIELDS[deltaType];
    if (field === undefined || typeof delta[field] !== "string") return false;
    const entry = host.channel({
      key: field === "text" ? `content[${index}]` : `content[${index}].${field}`,
      textual: field === "text",
      choice: 0,
      order: index,
      kind: "event",
      carrier: (t) => ({
        event: "content_block_delta",
        data: { type: "content_block_delta", index, delta: { type: deltaType, [field]: t } },
      }),
    });
    const value = delta[field] as string;
    const out = pushInto(entry, value);
    skip(s, delta, field);
    if (out === value) return false;
    delta[field] = out;
    return true;
  }
  if (type === "content_block_stop") before.push(...flushToCarriers(host, `content[${index}]`));
  else if (type === "message_delta" || type === "message_stop") before.push(...flushToCarriers(host));
  return false;
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

function responses(obj: JsonObject, type: string, host: EventHost, s: Skip, before: Carrier[]): boolean {
  if (type.endsWith(".delta") && typeof obj.delta === "string") {
    const stem = type.slice("response.".length, -".delta".length);
    const template: JsonObject = { ...obj };
    if (Array.isArray(template.logprobs)) template.logprobs = [];
    const entry = host.channel({
      key: responsesKey(obj, stem),
      textual: stem === "output_text",
      choice: typeof obj.output_index === "number" ? obj.output_index : 0,
      order: typeof obj.content_index === "number" ? obj.content_index : 0,
      kind: "event",
      carrier: (t) => ({ event: type, data: { ...template, delta: t } }),
    });
    const value = obj.delta;
    const out = pushInto(entry, value);
    skip(s, obj, "delta");
    if (out === value) return false;
    obj.delta = out;
    return true;
  }
  if (type.endsWith(".done")) {
    const stem = type.slice("response.".length, -".done".length);
    if (stem === "output_item") {
      before.push(
        ...flushToCarriers(host, `output[${typeof obj.output_index === "number" ? obj.output_index : 0}]`),
      );
    } else before.push(...flushToCarriers(host, responsesKey(obj, stem)));
  }
  if (RESPONSE_END.has(type)) before.push(...flushToCarriers(host));
  return false;
}

/** Mask every string of `v` not claimed by a channel. Returns true if something changed. */
function maskOthers(v: Json, segments: PathSegment[], host: EventHost, s: Skip, prefix: string): boolean {
  let changed = false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const item = v[i]!;
      if (typeof item === "string") {
        const out = host.maskOther(item, prefix + formatPath([...segments, i]).slice(1));
        if (out !== item) {
          v[i] = out;
          changed = true;
        }
      } else if (typeof item === "object" && item !== null)
        changed = maskOthers(item, [...segments, i], host, s, prefix) || changed;
    }
  } else if (isObject(v)) {
    const skipped = s.get(v);
    for (const key of Object.keys(v)) {
      if (skipped?.has(key)) continue;
      const item = v[key]!;
      if (typeof item === "string") {
        const out = host.maskOther(item, prefix + formatPath([...segments, key]).slice(1));
        if (out !== item) {
          v[key] = out;
          changed = true;
        }
      } else if (typeof item === "object" && item !== null)
        changed = maskOthers(item, [...segments, key], host, s, prefix) || changed;
    }
  }
  return changed;
}

/** Rewrite one parsed event in place. `eventNo` names it in findings (`event[<n>]`). */
export function rewriteEvent(obj: JsonObject, host: EventHost, eventNo: number): EventRewrite {
  const s: Skip = new Map();
  const before: Carrier[] = [];
  let changed = false;
  const type = typeof obj.type === "string" ? obj.type : undefined;
  if (Array.isArray(obj.choices)) changed = openai(obj, obj.choices, host, s);
  else if (type?.startsWith("response.")) changed = responses(obj, type, host, s, before);
  else if (type !== undefined) changed = anthropic(obj, type, host, s, before);
  changed = maskOthers(obj, [], host, s, `event[${eventNo}]`) || changed;
  return { changed, before };
}

/** Which family of stream an event belongs to (for the shape of carrier and block events). */
export function eventFamily(obj: JsonObject): "openai" | "responses" | "anthropic" | undefined {
  if ("choices" in obj) return "openai";
  const type = obj.type;
  if (typeof type !== "string") return undefined;
  return type.startsWith("response.") ? "responses" : "anthropic";
}
