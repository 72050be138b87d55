import { describe, expect, it } from "vitest";
import { deleteHeader, endToEndHeaders, getHeader, setHeader } from "../src/headers.js";

describe("endToEndHeaders", () => {
  it("keeps spelling and repeats, drops hop-by-hop, proxy and Connection-listed headers", () => {
    const h = endToEndHeaders([
      "Content-Type",
      "application/json",
      "Connection",
      "keep-alive, X-Secret-Hop",
      "X-Secret-Hop",
      "1",
      "Proxy-Authorization",
      "Bearer abc",
      "Proxy-Connection",
      "keep-alive",
      "Keep-Alive",
      "timeout=5",
      "Transfer-Encoding",
      "chunked",
      "TE",
      "trailers",
      "Upgrade",
      "websocket",
      "X-Multi",
      "a",
      "x-multi",
      "b",
      "Authorization",
      "Bearer upstream-token",
    ]);
    expect(h).toEqual({
      "Content-Type": "application/json",
      "X-Multi": ["a", "b"],
      Authorization: "Bearer upstream-token",
    });
  });

  it("finds, sets and deletes headers whatever their case", () => {
    const h: Record<string, string | number | string[]> = { "Content-Length": "5" };
    expect(getHeader(h, "content-length")).toBe("5");
    setHeader(h, "content-length", 7);
    expect(h).toEqual({ "content-length": 7 });
    deleteHeader(h, "CONTENT-LENGTH");
    expect(h).toEqual({});
  });
});
