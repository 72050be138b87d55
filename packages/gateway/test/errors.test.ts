import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ERRORS, errorBody, GatewayError } from "../src/errors.js";

describe("the error table", () => {
  const doc = readFileSync(new URL("../../../docs/errors.md", import.meta.url), "utf8");
  const documented = new Map(
    [...doc.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \| ([^|]+) \|/gm)].map((m) => [
      m[1] as string,
      { status: Number(m[2]), title: (m[3] as string).trim() },
    ]),
  );

  it("docs/errors.md documents every code with the same status and title, and nothing else", () => {
    expect([...documented.keys()].sort()).toEqual(Object.keys(ERRORS).sort());
    for (const [code, e] of Object.entries(ERRORS))
      expect(documented.get(code), code).toEqual({ status: e.status, title: e.title });
  });

  it("GatewayError carries the code and the table's status; bodies are one line", () => {
    const e = new GatewayError("host_mismatch", "line one\nline two");
    expect(e.status).toBe(421);
    expect(e.code).toBe("host_mismatch");
    expect(errorBody(e.message)).toBe("copilot-audit: line one line two\n");
  });
});
