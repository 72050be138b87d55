/**
 * What an auditor wants to read first: the model and the prompt, pulled out of a (masked) request body
 * for the known Copilot endpoints. Pure; bodies that are not JSON give nulls.
 */
import type { EndpointKind } from "@copilot-audit/redact";

const MAX_PARSE_BYTES = 8 * 1024 * 1024;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface PromptSummary {
  model: string | null;
  promptText: string | null;
}

export function summarizeRequest(
  endpoint: EndpointKind,
  path: string,
  body: Uint8Array | null,
): PromptSummary {
  const engine = /\/v1\/engines\/([^/]+)\/completions/.exec(path)?.[1] ?? null;
  const json = parse(body);
  const obj = json && typeof json === "object" && !Array.isArray(json) ? json : null;
  const model = typeof obj?.model === "string" ? obj.model : engine ? decodeURIComponent(engine) : null;
  if (!obj) return { model, promptText: null };
  return { model, promptText: promptOf(endpoint, obj) };
}

function parse(body: Uint8Array | null): Json | undefined {
  if (!body || body.length === 0 || body.length > MAX_PARSE_BYTES) return undefined;
  const first = body[0];
  if (first !== 0x7b && first !== 0x5b) return undefined; // { or [
  try {
    return JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8")) as Json;
  } catch {
    return undefined;
  }
}

/** Text of a message content: a string, or an array of parts/blocks with `text`. */
function text(content: Json | undefined): string | null {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    const parts = content.flatMap((p) => {
      if (typeof p === "string") return [p];
      if (p && typeof p === "object" && !Array.isArray(p) && typeof p.text === "string") return [p.text];
      if (p && typeof p === "object" && !Array.isArray(p) && typeof p.content === "string")
        return [p.content];
      return [];
    });
    return parts.length > 0 ? parts.join("\n") : null;
  }
  return null;
}

function lastUser(messages: Json | undefined): string | null {
  if (!Array.isArray(messages)) return null;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m && typeof m === "object" && !Array.isArray(m) && (m.role === "user" || m.role === undefined)) {
      const t = text(m.content);
      if (t !== null) return t;
    }
  }
  return null;
}

function promptOf(endpoint: EndpointKind, o: { [k: string]: Json }): string | null {
  switch (endpoint) {
    case "completions": {
      const prompt = typeof o.prompt === "string" ? o.prompt : null;
      return prompt;
    }
    case "chat":
    case "messages":
      return lastUser(o.messages);
    case "responses":
      return typeof o.input === "string" ? o.input : lastUser(o.input);
    case "snippy":
      return typeof o.source === "string" ? o.source : null;
    case "embeddings":
      return typeof o.input === "string"
        ? o.input
        : Array.isArray(o.input)
          ? o.input.filter((x) => typeof x === "string").join("\n")
          : null;
    default:
      return null;
  }
}
