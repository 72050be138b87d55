/**
 * Test helpers: build realistic streams in the four formats (shapes from copilot-wire.md), run them through a
 * response redactor in arbitrary chunks, and read the client's side back with a small reference SSE parser
 * that is independent of the package's own framer.
 */
import {
  createResponseRedactor,
  type ResponseRedactor,
  type ResponseRedactorOptions,
} from "../src/response.js";
import type { EndpointKind } from "../src/types.js";

export type Format = "completions" | "chat" | "responses" | "messages";
export const FORMATS: readonly Format[] = ["completions", "chat", "responses", "messages"];

export const KIND: Record<Format, EndpointKind> = {
  completions: "completions",
  chat: "chat",
  responses: "responses",
  messages: "messages",
};

const enc = new TextEncoder();
const dec = new TextDecoder();

function ev(data: unknown, event?: string, eol = "\n"): string {
  return `${event ? `event: ${event}${eol}` : ""}data: ${typeof data === "string" ? data : JSON.stringify(data)}${eol}${eol}`;
}

/** An upstream stream whose completion text is `deltas` joined. */
export function buildStream(format: Format, deltas: readonly string[], eol = "\n"): string {
  const full = deltas.join("");
  let s = "";
  if (format === "completions") {
    s += ev({ choices: [{ index: 0, finish_reason: null }] }, undefined, eol);
    for (const d of deltas)
      s += ev({ id: "cmpl-1", choices: [{ text: d, index: 0, finish_reason: null }] }, undefined, eol);
    s += ev({ id: "cmpl-1", choices: [{ index: 0, finish_reason: "stop" }] }, undefined, eol);
    s += ev("[DONE]", undefined, eol);
  } else if (format === "chat") {
    s += ev(
      { choices: [], prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }] },
      undefined,
      eol,
    );
    for (const d of deltas) {
      s += ev(
        {
          choices: [{ delta: { content: d }, finish_reason: null, index: 0 }],
          id: "chatcmpl-1",
          model: "gpt-4o-mini",
          object: "chat.completion.chunk",
        },
        undefined,
        eol,
      );
    }
    s += ev({ choices: [{ delta: {}, finish_reason: "stop", index: 0 }], id: "chatcmpl-1" }, undefined, eol);
    s += ev(
      { choices: [], usage: { completion_tokens: 47, prompt_tokens: 1193, total_tokens: 1240 } },
      undefined,
      eol,
    );
    s += ev("[DONE]", undefined, eol);
  } else if (format === "responses") {
    let seq = 0;
    const r = (type: string, body: object) => ev({ type, sequence_number: seq++, ...body }, type, eol);
    s += r("response.created", { response: { id: "resp_1", status: "in_progress", output: [] } });
    s += r("response.output_item.added", {
      output_index: 0,
      item: { id: "msg_1", type: "message", role: "assistant", content: [] },
    });
    s += r("response.content_part.added", {
      item_id: "msg_1",
      output_index: 0,
      content_index: 0,
      part: { type: "output_text", text: "" },
    });
    for (const d of deltas)
      s += r("response.output_text.delta", {
        item_id: "msg_1",
        output_index: 0,
        content_index: 0,
        delta: d,
        logprobs: [],
      });
    s += r("response.output_text.done", { item_id: "msg_1", output_index: 0, content_index: 0, text: full });
    s += r("response.content_part.done", {
      item_id: "msg_1",
      output_index: 0,
      content_index: 0,
      part: { type: "output_text", text: full },
    });
    const item = {
      id: "msg_1",
      type: "message",
      role: "assistant",
      content: [{ type: "output_text", text: full }],
    };
    s += r("response.output_item.done", { output_index: 0, item });
    s += r("response.completed", { response: { id: "resp_1", status: "completed", output: [item] } });
  } else {
    s += ev(
      {
        type: "message_start",
        message: { id: "msg_1", type: "message", role: "assistant", content: [], model: "claude" },
      },
      "message_start",
      eol,
    );
    s += ev(
      { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
      "content_block_start",
      eol,
    );
    s += ev({ type: "ping" }, "ping", eol);
    for (const d of deltas)
      s += ev(
        { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: d } },
        "content_block_delta",
        eol,
      );
    s += ev({ type: "content_block_stop", index: 0 }, "content_block_stop", eol);
    s += ev(
      { type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: 15 } },
      "message_delta",
      eol,
    );
    s += ev({ type: "message_stop" }, "message_stop", eol);
  }
  return s;
}

export interface ParsedEvent {
  event: string | undefined;
  data: string;
}

/** Reference SSE parser (WHATWG rules, simplified): LF, CRLF or CR line ends; a blank line dispatches. */
export function parseSse(text: string): ParsedEvent[] {
  const out: ParsedEvent[] = [];
  let data: string[] = [];
  let event: string | undefined;
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === "") {
      if (data.length > 0) out.push({ event, data: data.join("\n") });
      data = [];
      event = undefined;
      continue;
    }
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") data.push(value);
    else if (field === "event") event = value;
  }
  if (data.length > 0) out.push({ event, data: data.join("\n") });
  return out;
}

/** The completion text a client assembles from the deltas of `events`. */
export function visibleText(format: Format, events: readonly ParsedEvent[]): string {
  let text = "";
  for (const e of events) {
    if (e.data === "[DONE]") continue;
    const o = JSON.parse(e.data);
    if (format === "completions") text += o.choices?.[0]?.text ?? "";
    else if (format === "chat") text += o.choices?.[0]?.delta?.content ?? "";
    else if (format === "responses") text += o.type === "response.output_text.delta" ? o.delta : "";
    else text += o.type === "content_block_delta" && o.delta?.type === "text_delta" ? o.delta.text : "";
  }
  return text;
}

/** Every string value in every JSON event (what a client could display from any field). */
export function allStrings(events: readonly ParsedEvent[]): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === "string") out.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") Object.values(v).forEach(walk);
  };
  for (const e of events) if (e.data !== "[DONE]") walk(JSON.parse(e.data));
  return out;
}

/** Split `bytes` at the given offsets (sorted, deduplicated, inside the range). */
export function splitAt(bytes: Uint8Array, points: readonly number[]): Uint8Array[] {
  const cuts = [...new Set(points.filter((p) => p > 0 && p < bytes.length))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let last = 0;
  for (const c of cuts) {
    out.push(bytes.subarray(last, c));
    last = c;
  }
  out.push(bytes.subarray(last));
  return out;
}

/** Split `text` into deltas at the given character offsets. */
export function deltasAt(text: string, points: readonly number[]): string[] {
  const cuts = [...new Set(points.filter((p) => p > 0 && p < text.length))].sort((a, b) => a - b);
  const out: string[] = [];
  let last = 0;
  for (const c of cuts) {
    out.push(text.slice(last, c));
    last = c;
  }
  out.push(text.slice(last));
  return out;
}

export interface RunResult {
  redactor: ResponseRedactor;
  output: string;
  /** What the client received, per push/end call. */
  pieces: Uint8Array[];
}

/** Push `chunks` through a new redactor and collect the client's bytes. */
export function run(
  kind: EndpointKind,
  chunks: readonly Uint8Array[],
  opts: Partial<ResponseRedactorOptions> = {},
  contentType = "text/event-stream",
): RunResult {
  const redactor = createResponseRedactor(
    { kind, contentType },
    { fingerprint: (s) => `fp:${s.length}`, ...opts },
  );
  const pieces = chunks.map((c) => redactor.push(c));
  pieces.push(redactor.end());
  const total = pieces.reduce((n, p) => n + p.length, 0);
  const all = new Uint8Array(total);
  let at = 0;
  for (const p of pieces) {
    all.set(p, at);
    at += p.length;
  }
  return { redactor, output: dec.decode(all), pieces };
}

export function bytes(s: string): Uint8Array {
  return enc.encode(s);
}
