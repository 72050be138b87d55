import { describe, expect, it } from "vitest";
import { captureBody } from "../src/body.js";
import { createFingerprinter } from "../src/fingerprint.js";
import { DEFAULT_SENSITIVE_HEADERS } from "../src/index.js";
import { headerValue, sanitizeHeaders, sanitizeTokenBody } from "../src/sanitize.js";

const fp = createFingerprinter(Buffer.alloc(32, 3));
const sensitive = new Set(DEFAULT_SENSITIVE_HEADERS);

describe("sanitizeHeaders", () => {
  it("fingerprints credentials, keeping an auth scheme readable", () => {
    const out = sanitizeHeaders(
      {
        Authorization: "Bearer tid=abc;exp=1",
        "Proxy-Authorization": "Basic dXNlcjpqd3Q=",
        Cookie: "session=s3cr3t",
        "Content-Type": "application/json",
        "Content-Length": 42,
        "X-Skip": undefined,
      },
      sensitive,
      fp,
    );
    expect(out).toEqual({
      authorization: `Bearer ${fp("tid=abc;exp=1")}`,
      "proxy-authorization": `Basic ${fp("dXNlcjpqd3Q=")}`,
      cookie: fp("session=s3cr3t"),
      "content-type": "application/json",
      "content-length": "42",
    });
  });

  it("handles repeated headers, name/value pairs, schemeless credentials and extra sensitive names", () => {
    const out = sanitizeHeaders(
      [
        ["Set-Cookie", "a=1; Path=/"],
        ["set-cookie", "b=2"],
        ["Authorization", "rawtokenwithoutscheme"],
        ["X-Api-Key", "sk-123"],
        ["Accept", "text/event-stream"],
      ],
      new Set([...sensitive, "x-api-key"]),
      fp,
    );
    expect(out).toEqual({
      "set-cookie": [fp("a=1; Path=/"), fp("b=2")],
      authorization: fp("rawtokenwithoutscheme"),
      "x-api-key": fp("sk-123"),
      accept: "text/event-stream",
    });
  });

  it("headerValue finds a header case-insensitively in both shapes", () => {
    expect(headerValue({ "X-Request-Id": "r1" }, "x-request-id")).toBe("r1");
    expect(headerValue({ "x-request-id": ["r2", "r3"] }, "X-Request-ID")).toBe("r2");
    expect(headerValue([["X-REQUEST-ID", "r4"]], "x-request-id")).toBe("r4");
    expect(headerValue({}, "x-request-id")).toBeUndefined();
  });
});

describe("sanitizeTokenBody", () => {
  it("replaces token fields of a token-exchange JSON body by fingerprints", () => {
    const body = JSON.stringify({
      token: "tid=1;exp=2;sku=x",
      expires_at: 2,
      refresh_in: 1500,
      endpoints: { api: "https://a" },
    });
    const out = sanitizeTokenBody(captureBody(body, 1 << 20), fp);
    const stored = JSON.parse(Buffer.from(out.stored).toString("utf8"));
    expect(stored).toEqual({
      token: fp("tid=1;exp=2;sku=x"),
      expires_at: 2,
      refresh_in: 1500,
      endpoints: { api: "https://a" },
    });
    expect(out.truncated).toBe(false);
    expect(out.size).toBe(Buffer.byteLength(body));
  });

  it("withholds a body it cannot parse (or that was truncated) instead of storing a raw token", () => {
    for (const [body, cap] of [
      ["token=tid=1;exp=2", 1 << 20],
      [JSON.stringify({ token: "tid=1;exp=2;sku=monthly" }), 10],
      ['["tid=1"]', 1 << 20],
    ] as const) {
      const captured = captureBody(body, cap);
      const out = sanitizeTokenBody(captured, fp);
      expect(out.stored.byteLength).toBe(0);
      expect(out.truncated).toBe(true);
      expect(out.size).toBe(Buffer.byteLength(body));
    }
  });
});
