import { describe, expect, it } from "vitest";
import { redactRequestBody } from "../src/request.js";
import type { EndpointKind, RedactMode } from "../src/types.js";
import { Gen } from "./corpus.js";

const g = new Gen(21);
const enc = new TextEncoder();
const dec = new TextDecoder();
const fingerprint = (s: string) => `fp(${s.length})`;

function redact(
  kind: EndpointKind,
  body: unknown,
  mode: RedactMode = "mask",
  contentType = "application/json",
) {
  const raw = typeof body === "string" ? body : JSON.stringify(body);
  const r = redactRequestBody({ kind, contentType, body: enc.encode(raw) }, { fingerprint, mode });
  return { ...r, text: dec.decode(r.body), record: dec.decode(r.recordBody) };
}

describe("redactRequestBody: endpoint formats", () => {
  const key = g.githubClassic("ghp");
  const M = "[REDACTED:github-pat]";

  it("completions: prompt, suffix and extra.context", () => {
    const r = redact("completions", {
      prompt: `# token ${key}\ndef f():`,
      suffix: `\n# ${key}`,
      max_tokens: 500,
      extra: { language: "python", context: ["# Path: a.py", `KEY = "${key}"`] },
    });
    expect(r.changed).toBe(true);
    expect(JSON.parse(r.text)).toEqual({
      prompt: `# token ${M}\ndef f():`,
      suffix: `\n# ${M}`,
      max_tokens: 500,
      extra: { language: "python", context: ["# Path: a.py", `KEY = "${M}"`] },
    });
    expect(r.findings.map((f) => [f.location, f.offset, f.length, f.action])).toEqual([
      ["$.prompt", 8, 40, "masked"],
      ["$.suffix", 3, 40, "masked"],
      ["$.extra.context[1]", 7, 40, "masked"],
    ]);
    expect(r.findings[0]!.fingerprint).toBe("fp(40)");
  });

  it("chat: string content, content parts and tool-call arguments (JSON in a string)", () => {
    const password = g.password(16);
    const r = redact("chat", {
      messages: [
        { role: "system", content: "You are helpful." },
        { role: "user", content: [{ type: "text", text: `use ${key}` }] },
        {
          role: "assistant",
          tool_calls: [
            { id: "c1", type: "function", function: { name: "db", arguments: JSON.stringify({ password }) } },
          ],
        },
      ],
      model: "gpt-4o-mini",
      stream: true,
    });
    const body = JSON.parse(r.text);
    expect(body.messages[1].content[0].text).toBe(`use ${M}`);
    expect(JSON.parse(body.messages[2].tool_calls[0].function.arguments)).toEqual({
      password: "[REDACTED:generic-secret]",
    });
    expect(r.findings.map((f) => f.location)).toEqual([
      "$.messages[1].content[0].text",
      "$.messages[2].tool_calls[0].function.arguments->$.password",
    ]);
  });

  it("responses: input items", () => {
    const r = redact("responses", {
      model: "gpt-5",
      input: [{ role: "user", content: [{ type: "input_text", text: key }] }],
    });
    expect(r.findings.map((f) => f.location)).toEqual(["$.input[0].content[0].text"]);
    expect(r.text).toContain(M);
  });

  it("messages (Anthropic): system and content blocks", () => {
    const jwt = g.jwt();
    const r = redact("messages", {
      system: [{ type: "text", text: `ctx ${jwt}` }],
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "hi" },
            { type: "tool_result", tool_use_id: "t", content: key },
          ],
        },
      ],
    });
    expect(r.findings.map((f) => [f.ruleId, f.location])).toEqual([
      ["jwt", "$.system[0].text"],
      ["github-pat", "$.messages[0].content[1].content"],
    ]);
  });

  it("snippy: source", () => {
    const r = redact("snippy", { source: `const k = "${key}"` });
    expect(JSON.parse(r.text)).toEqual({ source: `const k = "${M}"` });
  });

  it("unknown JSON: every string is walked", () => {
    const r = redact("other", { a: { b: [{ c: key }] } });
    expect(r.findings.map((f) => f.location)).toEqual(["$.a.b[0].c"]);
  });

  it("non-JSON text and NDJSON", () => {
    const t = redact("other", `plain ${key} text`, "mask", "text/plain");
    expect(t.text).toBe(`plain ${M} text`);
    expect(t.findings[0]!.location).toBe("text");
    const nd = redact("telemetry", `{"a":"x"}\n{"b":"${key}"}\n`, "mask", "application/x-ndjson");
    expect(nd.text).toBe(`{"a":"x"}\n{"b":"${M}"}\n`);
    expect(nd.findings[0]!.location).toBe("line[1]$.b");
  });

  it("keeps the bytes of a body without secrets (same Uint8Array, not re-serialised)", () => {
    const raw = enc.encode('{ "prompt" : "def f():",  "n": 1.0 }');
    const r = redactRequestBody(
      { kind: "completions", contentType: "application/json", body: raw },
      { fingerprint },
    );
    expect(r).toEqual({ body: raw, changed: false, findings: [], recordBody: raw });
    expect(r.body).toBe(raw);
  });

  it("keeps formatting of the untouched parts of a masked body", () => {
    const r = redact("chat", `{ "n": 12345678901234567890, "messages": [ {"content": "${key}"} ] }`);
    expect(r.text).toBe(`{ "n": 12345678901234567890, "messages": [ {"content": "${M}"} ] }`);
  });
});

describe("redactRequestBody: modes", () => {
  const key = g.githubClassic("gho");
  const body = { messages: [{ role: "user", content: `my token ${key}` }] };

  it("report: forwards the original, records the masked body", () => {
    const r = redact("chat", body, "report");
    expect(r.changed).toBe(false);
    expect(r.text).toContain(key);
    expect(r.record).not.toContain(key);
    expect(r.findings[0]!.action).toBe("reported");
    expect(r.blocked).toBeUndefined();
  });

  it("block: names the rule and the place, never the secret", () => {
    const r = redact("chat", body, "block");
    expect(r.blocked).toEqual({ ruleId: "github-oauth", location: "$.messages[0].content" });
    expect(r.findings[0]!.action).toBe("blocked");
    expect(JSON.stringify(r.blocked)).not.toContain(key.slice(4, 12));
    expect(r.record).not.toContain(key);
  });

  it("off: nothing is scanned", () => {
    expect(redact("chat", body, "off")).toMatchObject({ changed: false, findings: [] });
  });

  it("skips bodies that are not UTF-8 and empty bodies", () => {
    const bin = redactRequestBody(
      { kind: "other", contentType: "application/octet-stream", body: new Uint8Array([0xff, 0xfe, 0x00]) },
      { fingerprint },
    );
    expect(bin.skipped).toBe("binary");
    expect(
      redactRequestBody({ kind: "token", contentType: undefined, body: new Uint8Array(0) }, { fingerprint })
        .findings,
    ).toEqual([]);
  });
});
