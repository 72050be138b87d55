import { createDetector, githubTokenChecksum, type RedactMode } from "@copilot-audit/redact";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../helpers.js";

function ghToken(seed: string): string {
  const r = (seed.repeat(30) + "A".repeat(30)).slice(0, 30);
  return `ghp_${r}${githubTokenChecksum(r)}`;
}
const AWS = "AKIAQWERTYUIOPASDF23"; // shape of an AWS access key id (not the documentation example)

async function stack(requestMode: RedactMode, responseMode: RedactMode): Promise<Stack> {
  return startStack({
    redact: {
      detector: createDetector(),
      requestMode,
      responseMode,
      fingerprint: (s) => `fp:${s.length}`,
      maxDecodedBytes: 1 << 24,
    },
  });
}

/** The text the client sees in an SSE body of the given format. */
function visibleText(format: string, sse: string): string {
  const out: string[] = [];
  for (const block of sse.split(/\r?\n\r?\n/)) {
    const data = block
      .split(/\r?\n/)
      .filter((l) => l.startsWith("data:"))
      .map((l) => l.slice(5).trimStart())
      .join("\n");
    if (!data || data === "[DONE]") continue;
    const o = JSON.parse(data);
    if (format === "completions") out.push(o.choices?.[0]?.text ?? "");
    if (format === "chat") out.push(o.choices?.[0]?.delta?.content ?? "");
    if (format === "responses" && o.type === "response.output_text.delta") out.push(o.delta);
    if (format === "messages" && o.type === "content_block_delta") out.push(o.delta?.text ?? "");
  }
  return out.join("");
}

const ENDPOINTS = {
  completions: "https://copilot-proxy.githubusercontent.com/v1/engines/gpt-41-copilot/completions",
  chat: "https://api.githubcopilot.com/chat/completions",
  responses: "https://api.githubcopilot.com/responses",
  messages: "https://api.githubcopilot.com/v1/messages",
} as const;

describe("masking through the gateway (mask/mask)", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await stack("mask", "mask");
  });
  afterAll(() => s.close());

  const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
    request(url, {
      dispatcher: s.agent(),
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
  const sentBody = (id: string) =>
    s.upstream.requests.find((r) => r.requestId === id)?.body.toString("utf8") ?? "";

  it.each([
    [
      "completions prompt, suffix and extra.context",
      ENDPOINTS.completions,
      (t: string) => ({
        prompt: `key = "${t}"\n`,
        suffix: `# ${AWS}`,
        extra: { context: [`// Path: a.ts token ${t}`] },
        stream: true,
      }),
    ],
    [
      "chat content string, parts and tool arguments",
      ENDPOINTS.chat,
      (t: string) => ({
        stream: true,
        messages: [
          { role: "user", content: `use ${t}` },
          { role: "user", content: [{ type: "text", text: `and ${AWS}` }] },
          {
            role: "assistant",
            tool_calls: [
              { id: "1", type: "function", function: { name: "f", arguments: JSON.stringify({ token: t }) } },
            ],
          },
        ],
      }),
    ],
    [
      "Responses input",
      ENDPOINTS.responses,
      (t: string) => ({
        stream: true,
        input: [{ role: "user", content: [{ type: "input_text", text: `deploy with ${t}` }] }],
      }),
    ],
    [
      "Anthropic system and content blocks",
      ENDPOINTS.messages,
      (t: string) => ({
        stream: true,
        system: `env has ${AWS}`,
        messages: [{ role: "user", content: [{ type: "text", text: `push with ${t}` }] }],
      }),
    ],
    [
      "origin-tracker source",
      "https://origin-tracker.githubusercontent.com/twirp/github.snippy.v1.SnippyAPI/Match",
      (t: string) => ({ source: `const t = "${t}";` }),
    ],
  ])("masks secrets in the %s before forwarding", async (_name, url, body) => {
    const t = ghToken(_name.slice(0, 3));
    const id = `in-${_name.slice(0, 8)}`;
    const r = await post(url, body(t), { "x-request-id": id });
    expect(r.statusCode).toBe(200);
    await r.body.dump();
    const sent = sentBody(id);
    expect(sent).not.toContain(t.slice(4, 20));
    expect(sent).not.toContain(AWS.slice(4));
    expect(sent).toContain("[REDACTED:github-pat]");
    expect(() => JSON.parse(sent)).not.toThrow();
  });

  it.each(Object.entries(ENDPOINTS))(
    "masks a secret streamed back in %s format, however the events split it",
    async (format, url) => {
      const t = ghToken(format.slice(0, 2));
      const reply = `first ${t} then ${AWS} end`;
      for (const chunk of [1, 3, 7, 19]) {
        const r = await post(
          url,
          { stream: true, messages: [], input: "x", prompt: "x" },
          { "x-testkit-reply": encodeURIComponent(reply), "x-testkit-chunk": String(chunk) },
        );
        const sse = await r.body.text();
        expect(sse, `chunk ${chunk}`).not.toContain(t.slice(4, 8));
        expect(sse).not.toContain(AWS.slice(4, 8));
        expect(visibleText(format, sse)).toBe(
          "first [REDACTED:github-pat] then [REDACTED:aws-access-key-id] end",
        );
        if (format === "chat" || format === "completions")
          expect(sse.trimEnd().endsWith("data: [DONE]")).toBe(true);
      }
    },
  );

  it("masks non-stream JSON responses too", async () => {
    const t = ghToken("nj");
    const r = await post(
      ENDPOINTS.chat,
      { stream: false, messages: [] },
      { "x-testkit-reply": encodeURIComponent(`here: ${t}`) },
    );
    const body = (await r.body.json()) as { choices: Array<{ message: { content: string } }> };
    expect(body.choices[0]?.message.content).toBe("here: [REDACTED:github-pat]");
  });

  it("leaves clean traffic byte for byte alone", async () => {
    const r = await post(
      ENDPOINTS.chat,
      { stream: true, messages: [{ role: "user", content: "hello" }] },
      { "x-request-id": "clean-1" },
    );
    const sse = await r.body.text();
    expect(visibleText("chat", sse)).toBe("Hello from the fake Copilot upstream. console.log('hi');");
    expect(sentBody("clean-1")).toBe(
      JSON.stringify({ stream: true, messages: [{ role: "user", content: "hello" }] }),
    );
  });
});

describe("block and report modes", () => {
  it("block: a secret in the prompt → 403 naming the rule and place, never the secret; nothing forwarded", async () => {
    const s = await stack("block", "block");
    try {
      const t = ghToken("bl");
      const before = s.upstream.requests.length;
      const r = await request(ENDPOINTS.chat, {
        dispatcher: s.agent(),
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ messages: [{ role: "user", content: `x ${t}` }] }),
      });
      expect(r.statusCode).toBe(403);
      expect(r.headers["x-copilot-audit-error"]).toBe("secret_blocked");
      const text = await r.body.text();
      expect(text).toMatch(
        /^copilot-audit: nothing was sent: the request contains a secret \(rule github-pat at \$\.messages\[0\]\.content\); remove it and retry\n$/,
      );
      expect(text).not.toContain(t.slice(4, 10));
      expect(s.upstream.requests.length).toBe(before);
      // A secret in the completion stops the stream with an error event; nothing of the secret is sent.
      const out = await request(ENDPOINTS.chat, {
        dispatcher: s.agent(),
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-testkit-reply": encodeURIComponent(`ok ${t} more`),
        },
        body: JSON.stringify({ stream: true, messages: [{ role: "user", content: "hi" }] }),
      });
      const sse = await out.body.text();
      expect(sse).not.toContain(t.slice(4, 10));
      expect(sse).toMatch(/error/i);
    } finally {
      await s.close();
    }
  });

  it("report: traffic passes unchanged (the finding is only recorded)", async () => {
    const s = await stack("report", "report");
    try {
      const t = ghToken("rp");
      const r = await request(ENDPOINTS.chat, {
        dispatcher: s.agent(),
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-request-id": "rep-1",
          "x-testkit-reply": encodeURIComponent(`ok ${t}`),
        },
        body: JSON.stringify({ stream: true, messages: [{ role: "user", content: `x ${t}` }] }),
      });
      expect(visibleText("chat", await r.body.text())).toBe(`ok ${t}`);
      expect(s.upstream.requests.find((x) => x.requestId === "rep-1")?.body.toString()).toContain(t);
    } finally {
      await s.close();
    }
  });
});
