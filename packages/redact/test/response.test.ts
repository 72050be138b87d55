import { describe, expect, it } from "vitest";
import type { RedactError } from "../src/errors.js";
import { createResponseRedactor } from "../src/response.js";
import { Gen } from "./corpus.js";
import { buildStream, bytes, deltasAt, parseSse, run, splitAt, visibleText } from "./sse-helpers.js";

const g = new Gen(31);
const dec = new TextDecoder();
const fingerprint = (s: string) => `fp:${s.length}`;
const SSE = "text/event-stream";

function errCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as RedactError).code;
  }
  return undefined;
}

describe("response redactor: SSE pass-through", () => {
  it("returns the very same bytes when nothing needs changing", () => {
    const r = createResponseRedactor({ kind: "chat", contentType: SSE }, { fingerprint });
    const chunk = bytes(buildStream("chat", ["Hello", " world"]));
    expect(r.push(chunk)).toBe(chunk);
    expect(r.end().length).toBe(0);
    expect(r.completionText()).toBe("Hello world");
    expect(r.isStream).toBe(true);
  });

  it("passes comments, choices:null objects, copilot fields and [DONE] through unchanged", () => {
    const text =
      ": keep-alive\n\n" +
      'data: {"choices":null,"copilot_references":[{"type":"file","id":"a.ts"}]}\n\n' +
      'data: {"choices":[],"copilot_confirmation":{"title":"ok"}}\n\n' +
      "data: [DONE]\n\n";
    const { output, redactor } = run("chat", splitAt(bytes(text), [3, 40, 41, 90]));
    expect(output).toBe(text);
    expect(redactor.findings).toEqual([]);
  });

  it("passes invalid JSON through unchanged, but still masks a secret in its raw text", () => {
    const key = g.githubClassic("ghp");
    const { output, redactor } = run("chat", [bytes(`data: {not json\n\ndata: oops ${key} {\n\n`)]);
    expect(output).toBe("data: {not json\n\ndata: oops [REDACTED:github-pat] {\n\n");
    expect(redactor.findings.map((f) => f.location)).toEqual(["event[1]"]);
  });

  it("keeps CRLF line ends in rewritten events", () => {
    const key = g.githubClassic("ghp");
    const { output } = run("chat", [
      bytes(buildStream("chat", ["k=", key.slice(0, 9), key.slice(9), " ok"], "\r\n")),
    ]);
    expect(output).not.toMatch(/[^\r]\n/);
    expect(visibleText("chat", parseSse(output))).toBe("k=[REDACTED:github-pat] ok");
  });

  it("masks a secret in a multi-line data event", () => {
    const key = g.githubClassic("ghp");
    const { output } = run("other", [bytes(`data: line one\ndata: ${key}\n\n`)]);
    expect(output).toBe("data: line one\ndata: [REDACTED:github-pat]\n\n");
  });
});

describe("response redactor: stream formats", () => {
  it("chat tool-call arguments: a secret split across events is masked, the finish event carries the rest", () => {
    const password = g.password(18);
    const args = JSON.stringify({ query: "select 1", password });
    const parts = deltasAt(args, [5, 20, 30, 40]);
    let s = "";
    for (const p of parts) {
      s += `data: ${JSON.stringify({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: p } }] }, finish_reason: null }] })}\n\n`;
    }
    s += `data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }] })}\n\ndata: [DONE]\n\n`;
    const { output, redactor } = run("chat", [bytes(s)]);
    const events = parseSse(output);
    expect(events).toHaveLength(parseSse(s).length);
    const got = events
      .filter((e) => e.data !== "[DONE]")
      .map((e) => JSON.parse(e.data).choices[0].delta.tool_calls?.[0]?.function.arguments ?? "")
      .join("");
    expect(JSON.parse(got)).toEqual({ query: "select 1", password: "[REDACTED:generic-secret]" });
    expect(redactor.findings.map((f) => f.location)).toEqual(["choices[0].tool_calls[0]"]);
    expect(redactor.completionText()).toBe("");
  });

  it("Anthropic input_json_delta is a channel of its own", () => {
    const key = g.githubClassic("ghu");
    const s =
      `event: content_block_start\ndata: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t","name":"x","input":{}}}\n\n` +
      `event: content_block_delta\ndata: ${JSON.stringify({ type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json: `{"t": "${key.slice(0, 20)}` } })}\n\n` +
      `event: content_block_delta\ndata: ${JSON.stringify({ type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json: `${key.slice(20)}"}` } })}\n\n` +
      `event: content_block_stop\ndata: {"type":"content_block_stop","index":1}\n\n`;
    const { output, redactor } = run("messages", [bytes(s)]);
    const json = parseSse(output)
      .map((e) => JSON.parse(e.data))
      .filter((o) => o.type === "content_block_delta")
      .map((o) => o.delta.partial_json)
      .join("");
    expect(JSON.parse(json)).toEqual({ t: "[REDACTED:github-app-token]" });
    expect(redactor.findings.map((f) => f.location)).toEqual(["content[1].partial_json"]);
  });

  it("Responses: deltas and the full-text .done/.completed events are masked; one finding per secret", () => {
    const key = g.githubClassic("ghp");
    const { output, redactor } = run("responses", [
      bytes(buildStream("responses", ["use ", key.slice(0, 7), key.slice(7), " now"])),
    ]);
    expect(output).not.toContain(key);
    expect(visibleText("responses", parseSse(output))).toBe("use [REDACTED:github-pat] now");
    const done = parseSse(output)
      .map((e) => JSON.parse(e.data))
      .find((o) => o.type === "response.output_text.done");
    expect(done.text).toBe("use [REDACTED:github-pat] now");
    expect(redactor.findings).toHaveLength(1);
    expect(redactor.findings[0]).toMatchObject({
      location: "output[0].content[0]",
      offset: 4,
      length: 40,
      fingerprint: "fp:40",
    });
  });

  it("several choices: each is its own channel; completionText separates them", () => {
    const key = g.githubClassic("ghp");
    const ev = (i: number, text: string) =>
      `data: ${JSON.stringify({ choices: [{ text, index: i, finish_reason: null }] })}\n\n`;
    const s =
      ev(0, "first ") + ev(1, key.slice(0, 10)) + ev(0, "choice") + ev(1, key.slice(10)) + "data: [DONE]\n\n";
    const { redactor } = run("completions", [bytes(s)]);
    expect(redactor.completionText()).toBe(
      "--- choice 0 ---\nfirst choice\n\n--- choice 1 ---\n[REDACTED:github-pat]",
    );
  });

  it("an event with text for two channels cannot be deferred: held text ends in a carrier event", () => {
    const a = g.githubClassic("ghp");
    const b = g.githubClassic("gho");
    const s =
      `data: ${JSON.stringify({
        choices: [
          { index: 0, text: a },
          { index: 1, text: b },
        ],
      })}\n\n` +
      `data: ${JSON.stringify({
        choices: [
          { index: 0, finish_reason: "stop" },
          { index: 1, finish_reason: "stop" },
        ],
      })}\n\n` +
      "data: [DONE]\n\n";
    const { output } = run("completions", [bytes(s)]);
    const texts = parseSse(output)
      .filter((e) => e.data !== "[DONE]")
      .flatMap((e) =>
        JSON.parse(e.data).choices.map((c: { index: number; text?: string }) => [c.index, c.text ?? ""]),
      );
    expect(
      texts
        .filter(([i]: [number]) => i === 0)
        .map(([, t]: [number, string]) => t)
        .join(""),
    ).toBe("[REDACTED:github-pat]");
    expect(
      texts
        .filter(([i]: [number]) => i === 1)
        .map(([, t]: [number, string]) => t)
        .join(""),
    ).toBe("[REDACTED:github-oauth]");
  });
});

describe("response redactor: modes", () => {
  const key = g.githubClassic("ghp");
  const stream = bytes(buildStream("chat", ["token ", key.slice(0, 12), key.slice(12), " ok"]));

  it("report: the client gets the original bytes at once; the record and completionText are masked", () => {
    const r = createResponseRedactor(
      { kind: "chat", contentType: SSE },
      { fingerprint, mode: "report", record: true },
    );
    const parts = splitAt(stream, [50, 100]);
    for (const p of parts) expect(r.push(p)).toBe(p);
    expect(r.end().length).toBe(0);
    const record = dec.decode(r.takeRecord());
    expect(record).not.toContain(key.slice(12));
    expect(visibleText("chat", parseSse(record))).toBe("token [REDACTED:github-pat] ok");
    expect(r.completionText()).toBe("token [REDACTED:github-pat] ok");
    expect(r.findings[0]!.action).toBe("reported");
  });

  it("off: no findings, raw completion text", () => {
    const { redactor, output } = run("chat", [stream], { mode: "off" });
    expect(output).toBe(dec.decode(stream));
    expect(redactor.findings).toEqual([]);
    expect(redactor.completionText()).toBe(`token ${key} ok`);
  });

  it.each([
    ["chat", "openai"],
    ["responses", "responses"],
    ["messages", "anthropic"],
  ] as const)(
    "block (%s): text before the secret, then an error event in the %s shape, no [DONE]",
    (format, _family) => {
      const input = bytes(buildStream(format, ["Hello. ", "key ", key.slice(0, 5), key.slice(5), " more"]));
      const r = createResponseRedactor({ kind: format, contentType: SSE }, { fingerprint, mode: "block" });
      let out = dec.decode(r.push(input));
      expect(r.blocked).toEqual({
        ruleId: "github-pat",
        location:
          format === "chat" ? "choices[0]" : format === "responses" ? "output[0].content[0]" : "content[0]",
      });
      expect(r.push(bytes("data: [DONE]\n\n")).length).toBe(0);
      out += dec.decode(r.end());
      expect(out).not.toContain(key.slice(0, 8));
      expect(out).not.toContain("[DONE]");
      const events = parseSse(out);
      const last = JSON.parse(events[events.length - 1]!.data);
      const message = last.error?.message ?? last.message;
      expect(message).toMatch(/rule github-pat/);
      expect(message).not.toContain(key.slice(4));
      if (format === "chat") expect(last).toMatchObject({ choices: null, error: { code: "secret_blocked" } });
      if (format === "responses") expect(last).toMatchObject({ type: "error", code: "secret_blocked" });
      if (format === "messages")
        expect(last).toMatchObject({ type: "error", error: { type: "copilot_audit_blocked" } });
      expect(visibleText(format, events)).toBe("Hello. key ");
    },
  );

  it("the token exchange is never masked (its bearer is what the client needs): mask becomes report", () => {
    const jwt = g.jwt();
    const body = bytes(JSON.stringify({ token: `tid=1;exp=2;sig=${jwt}`, expires_at: 2 }));
    const r = createResponseRedactor(
      { kind: "token", contentType: "application/json" },
      { fingerprint, mode: "mask" },
    );
    expect(r.push(body)).toBe(body);
    expect(r.end().length).toBe(0);
    expect(r.findings[0]!.action).toBe("reported");
  });
});

describe("response redactor: non-stream bodies", () => {
  const key = g.githubClassic("ghp");

  it.each([
    [
      "chat",
      {
        choices: [
          { index: 0, message: { role: "assistant", content: `here ${key}` }, finish_reason: "stop" },
        ],
      },
      "$.choices[0].message.content",
    ],
    ["completions", { choices: [{ index: 0, text: `here ${key}` }] }, "$.choices[0].text"],
    [
      "responses",
      { output: [{ type: "message", content: [{ type: "output_text", text: `here ${key}` }] }] },
      "$.output[0].content[0].text",
    ],
    ["messages", { type: "message", content: [{ type: "text", text: `here ${key}` }] }, "$.content[0].text"],
  ] as const)("%s JSON: masked at end(), completion text collected", (kind, body, location) => {
    const r = createResponseRedactor({ kind, contentType: "application/json" }, { fingerprint });
    expect(r.isStream).toBe(false);
    const raw = bytes(JSON.stringify(body));
    expect(r.push(raw.subarray(0, 20)).length).toBe(0);
    expect(r.push(raw.subarray(20)).length).toBe(0);
    const out = JSON.parse(dec.decode(r.end()));
    expect(JSON.stringify(out)).not.toContain(key);
    expect(r.completionText()).toBe("here [REDACTED:github-pat]");
    expect(r.findings.map((f) => f.location)).toEqual([location]);
  });

  it("plain text body", () => {
    const { output, redactor } = run("other", [bytes(`hello ${key}`)], {}, "text/plain");
    expect(output).toBe("hello [REDACTED:github-pat]");
    expect(redactor.completionText()).toBe("hello [REDACTED:github-pat]");
  });

  it("block: the body is replaced by a JSON error", () => {
    const { output, redactor } = run(
      "chat",
      [bytes(JSON.stringify({ choices: [{ message: { content: key } }] }))],
      { mode: "block" },
      "application/json",
    );
    expect(JSON.parse(output)).toMatchObject({ error: { code: "secret_blocked" } });
    expect(redactor.blocked?.ruleId).toBe("github-pat");
  });

  it("a body over maxBufferBytes is redacted as plain text from then on, and says so", () => {
    const body = `${"x".repeat(100)} ${key} ${"y".repeat(100)}`;
    const { output, redactor } = run(
      "chat",
      splitAt(bytes(body), [60, 120, 200]),
      { maxBufferBytes: 64 },
      "application/json",
    );
    expect(output).toBe(`${"x".repeat(100)} [REDACTED:github-pat] ${"y".repeat(100)}`);
    expect(redactor.degraded).toMatch(/maxBufferBytes/);
  });

  it("report over maxBufferBytes: the client gets every byte once, the record is masked", () => {
    const body = bytes(`${"x".repeat(100)} ${key} ${"y".repeat(100)}`);
    const r = createResponseRedactor(
      { kind: "other", contentType: "text/plain" },
      { fingerprint, mode: "report", maxBufferBytes: 64, record: true },
    );
    const parts = splitAt(body, [60, 120]);
    const sent = parts.map((p) => r.push(p));
    sent.push(r.end());
    expect(dec.decode(Buffer.concat(sent))).toBe(dec.decode(body));
    expect(dec.decode(r.takeRecord())).toContain("[REDACTED:github-pat]");
  });
});

describe("response redactor: limits and errors", () => {
  it("an SSE event over maxEventBytes switches the rest of the stream to plain-text redaction", () => {
    const key = g.githubClassic("ghp");
    const head = bytes('data: {"choices":[{"index":0,"text":"ok"}]}\n\n');
    const huge = bytes(`data: ${"z".repeat(200)} ${key} and no blank line`);
    const { output, redactor } = run("completions", [head, huge], { maxEventBytes: 128 });
    expect(output).toBe(
      `data: {"choices":[{"index":0,"text":"ok"}]}\n\ndata: ${"z".repeat(200)} [REDACTED:github-pat] and no blank line`,
    );
    expect(redactor.degraded).toMatch(/maxEventBytes/);
  });

  it("refuses push/end after end, and bad limits", () => {
    const r = createResponseRedactor({ kind: "chat", contentType: SSE }, { fingerprint });
    r.end();
    expect(errCode(() => r.push(bytes("x")))).toBe("redactor_closed");
    expect(errCode(() => r.end())).toBe("redactor_closed");
    expect(
      errCode(() =>
        createResponseRedactor({ kind: "chat", contentType: SSE }, { fingerprint, maxHoldBytes: 0 }),
      ),
    ).toBe("invalid_config");
  });

  it("takeRecord() is empty unless asked for", () => {
    const r = createResponseRedactor({ kind: "chat", contentType: SSE }, { fingerprint });
    r.push(bytes(buildStream("chat", ["hi"])));
    expect(r.takeRecord().length).toBe(0);
  });
});
