import { describe, expect, it } from "vitest";
import { createDetector } from "../src/detector.js";
import { type DocumentSecret, maskString, redactDocument } from "../src/document.js";
import { Gen } from "./corpus.js";

const detector = createDetector();
const g = new Gen(41);

describe("redactDocument", () => {
  it("JSON: a secret named by its object key is found (key: value scanning), keys are never masked", () => {
    const secret = g.password(18);
    const azure = `${g.alnum(86)}==`;
    const doc = redactDocument(
      JSON.stringify({ client_secret: secret, AccountKey: azure, note: "x" }),
      "application/json",
      detector,
    );
    expect(JSON.parse(doc.text)).toEqual({
      client_secret: "[REDACTED:generic-secret]",
      AccountKey: "[REDACTED:azure-storage-key]",
      note: "x",
    });
    expect(doc.secrets.map((s) => [s.location, s.offset, s.length])).toEqual([
      ["$.client_secret", 0, secret.length],
      ["$.AccountKey", 0, azure.length],
    ]);
  });

  it("JSON inside a JSON string is walked, and nesting is bounded", () => {
    const key = g.githubClassic("ghp");
    let inner = JSON.stringify({ token: key });
    for (let i = 0; i < 6; i++) inner = JSON.stringify({ wrap: inner });
    const doc = redactDocument(inner, "application/json", detector);
    expect(doc.text).not.toContain(key);
    expect(doc.secrets[0]!.location.split("->").length).toBeGreaterThan(4);
  });

  it("detects the format: json, ndjson, text", () => {
    expect(redactDocument('{"a":1}', undefined, detector).format).toBe("json");
    expect(redactDocument('{"a":1}\n{"b":2}\n', undefined, detector).format).toBe("ndjson");
    expect(redactDocument("{not json", "application/json", detector).format).toBe("text");
  });

  it("observes each string after masking (for collecting completion text)", () => {
    const seen: string[] = [];
    redactDocument('{"choices":[{"text":"a"}]}', undefined, detector, (seg, v) =>
      seen.push(`${seg.join("/")}=${v}`),
    );
    expect(seen).toEqual(["choices/0/text=a"]);
  });

  it("maskString reports offsets within the string", () => {
    const out: DocumentSecret[] = [];
    const key = g.githubClassic("ghr");
    expect(maskString(`ab ${key}`, "$.x", detector, out)).toBe("ab [REDACTED:github-refresh-token]");
    expect(out).toEqual([
      {
        ruleId: "github-refresh-token",
        description: expect.any(String),
        location: "$.x",
        offset: 3,
        length: 40,
        secret: key,
      },
    ]);
  });
});
