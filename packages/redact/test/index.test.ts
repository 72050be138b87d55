import { describe, expect, it } from "vitest";
import * as api from "../src/index.js";

describe("public API", () => {
  it("exports exactly the documented values", () => {
    expect(Object.keys(api).sort()).toEqual(
      [
        "BUILTIN_RULE_IDS",
        "REDACT_CONFIG_KEYS",
        "REDACT_DEFAULTS",
        "REDACT_ERROR_CODES",
        "RedactConfigError",
        "RedactError",
        "RuleConfigError",
        "classifyEndpoint",
        "createDetector",
        "createResponseRedactor",
        "githubTokenChecksum",
        "isValidGithubToken",
        "maskFor",
        "parseRedactConfig",
        "redactRequestBody",
      ].sort(),
    );
  });

  it("works end to end through the entry point: a prompt and a completion", () => {
    const r30 = "abcdefghijklmnopqrstuvwxyzABCD";
    const token = `ghp_${r30}${api.githubTokenChecksum(r30)}`;
    const fingerprint = (s: string) => `fp${s.length}`;
    const req = api.redactRequestBody(
      {
        kind: api.classifyEndpoint("api.githubcopilot.com", "/chat/completions"),
        contentType: "application/json",
        body: new TextEncoder().encode(JSON.stringify({ messages: [{ role: "user", content: token }] })),
      },
      { fingerprint },
    );
    expect(new TextDecoder().decode(req.body)).toBe(
      '{"messages":[{"role":"user","content":"[REDACTED:github-pat]"}]}',
    );
    const res = api.createResponseRedactor(
      { kind: "chat", contentType: "text/event-stream" },
      { fingerprint },
    );
    const out = new TextDecoder().decode(
      res.push(
        new TextEncoder().encode(
          `data: {"choices":[{"index":0,"delta":{"content":"${token}"}}]}\n\ndata: [DONE]\n\n`,
        ),
      ),
    );
    expect(out).toBe(
      'data: {"choices":[{"index":0,"delta":{"content":"[REDACTED:github-pat]"}}]}\n\ndata: [DONE]\n\n',
    );
    expect(res.findings.map((f) => [f.ruleId, f.location, f.fingerprint])).toEqual([
      ["github-pat", "choices[0]", "fp40"],
    ]);
  });
});
