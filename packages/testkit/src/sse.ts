/** Builders for the four Copilot stream formats (../shared/copilot-wire.md), as real SSE text. */
export type StreamFormat = "completions" | "chat" | "responses" | "messages";

export function splitText(text: string, chunk: number): string[] {
  const pieces: string[] = [];
  const chars = [...text]; // never split a surrogate pair
  for (let i = 0; i < chars.length; i += chunk) pieces.push(chars.slice(i, i + chunk).join(""));
  return pieces;
}

const data = (obj: unknown) => `data: ${typeof obj === "string" ? obj : JSON.stringify(obj)}\n\n`;
const named = (event: string, obj: unknown) => `event: ${event}\ndata: ${JSON.stringify(obj)}\n\n`;

/** The SSE events (each a complete `...\n\n` block) that stream `pieces` in the given format. */
export function sseEvents(format: StreamFormat, pieces: string[], model = "gpt-4o-mini"): string[] {
  const id = "chatcmpl-testkit";
  switch (format) {
    case "completions":
      return [
        data({ choices: [{ index: 0, finish_reason: null }] }),
        ...pieces.map((text) => data({ choices: [{ text, index: 0, finish_reason: null }] })),
        data({ choices: [{ index: 0, finish_reason: "stop" }] }),
        data("[DONE]"),
      ];
    case "chat":
      return [
        data({ choices: [], prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }] }),
        ...pieces.map((content) =>
          data({
            choices: [{ delta: { content }, finish_reason: null, index: 0 }],
            id,
            model,
            object: "chat.completion.chunk",
          }),
        ),
        data({ choices: [{ delta: {}, finish_reason: "stop", index: 0 }], id }),
        data({
          choices: [],
          usage: { completion_tokens: pieces.length, prompt_tokens: 10, total_tokens: 10 + pieces.length },
        }),
        data("[DONE]"),
      ];
    case "responses":
      return [
        named("response.created", {
          type: "response.created",
          response: { id: "resp_testkit", model, status: "in_progress" },
        }),
        ...pieces.map((delta) =>
          named("response.output_text.delta", {
            type: "response.output_text.delta",
            item_id: "msg_1",
            output_index: 0,
            content_index: 0,
            delta,
          }),
        ),
        named("response.completed", {
          type: "response.completed",
          response: { id: "resp_testkit", model, status: "completed" },
        }),
      ];
    case "messages":
      return [
        named("message_start", {
          type: "message_start",
          message: { id: "msg_testkit", model, role: "assistant", content: [] },
        }),
        named("content_block_start", {
          type: "content_block_start",
          index: 0,
          content_block: { type: "text", text: "" },
        }),
        ...pieces.map((text) =>
          named("content_block_delta", {
            type: "content_block_delta",
            index: 0,
            delta: { type: "text_delta", text },
          }),
        ),
        named("content_block_stop", { type: "content_block_stop", index: 0 }),
        named("message_delta", {
          type: "message_delta",
          delta: { stop_reason: "end_turn" },
          usage: { output_tokens: pieces.length },
        }),
        named("message_stop", { type: "message_stop" }),
      ];
  }
}

/** The non-streamed JSON body for the same reply. */
export function jsonReply(format: StreamFormat, text: string, model = "gpt-4o-mini"): unknown {
  switch (format) {
    case "completions":
      return { choices: [{ text, index: 0, finish_reason: "stop" }] };
    case "chat":
      return {
        id: "chatcmpl-testkit",
        model,
        object: "chat.completion",
        choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
      };
    case "responses":
      return {
        id: "resp_testkit",
        model,
        status: "completed",
        output: [{ type: "message", content: [{ type: "output_text", text }] }],
      };
    case "messages":
      return {
        id: "msg_testkit",
        model,
        role: "assistant",
        content: [{ type: "text", text }],
        stop_reason: "end_turn",
      };
  }
}

/** Which stream format a Copilot path speaks, if any. */
export function formatForPath(path: string): StreamFormat | null {
  const p = path.split("?")[0] ?? "";
  if (/\/v1\/engines\/[^/]+\/completions$/.test(p) || p === "/completions") return "completions";
  if (p.endsWith("/chat/completions")) return "chat";
  if (p.endsWith("/responses")) return "responses";
  if (p.endsWith("/v1/messages")) return "messages";
  return null;
}
