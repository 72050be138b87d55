import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalRow, cleanText, normalizeRow, rowHash, sortedJson } from "../src/canonical.js";
import { TABLES } from "../src/columns.js";
import { decodeRow, encodeRow } from "../src/spool.js";

const exchangeRow = (over: Record<string, unknown>) =>
  normalizeRow("exchanges", {
    id: "00000000-0000-4000-8000-000000000001",
    session_id: null,
    session_seq: 1,
    requested_at: new Date("2026-01-02T03:04:05.678Z"),
    method: "POST",
    scheme: "https",
    host: "h",
    port: 443,
    path: "/p",
    endpoint_kind: "chat",
    headers: { a: "1" },
    body_size: 0,
    body_sha256: "0".repeat(64),
    body_truncated: false,
    chain_id: "00000000-0000-4000-8000-000000000002",
    seq: 1,
    ...over,
  });

describe("canonical form", () => {
  it("sortedJson does not depend on key order", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.array(fc.string()))), (o) => {
        const reversed = Object.fromEntries(Object.entries(o).reverse());
        expect(sortedJson(reversed)).toBe(sortedJson(o));
      }),
    );
  });

  it("cleanText removes what PostgreSQL text cannot hold, and nothing else", () => {
    expect(cleanText("a\u0000b")).toBe("a\uFFFDb");
    expect(cleanText("x\uD800y")).toBe("x\uFFFDy");
    expect(cleanText("x\uDC00")).toBe("x\uFFFD");
    expect(cleanText("😀 ok")).toBe("😀 ok");
  });

  it("survives the spool round trip for any text, header and body values", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary" }),
        fc.dictionary(fc.string({ unit: "binary" }), fc.string({ unit: "binary" })),
        fc.uint8Array(),
        fc.option(fc.array(fc.string({ unit: "binary" }))),
        (path, headers, bytes, groups) => {
          const row = exchangeRow({
            path,
            headers,
            body_bytes: bytes,
            identity_groups: groups,
            prompt_text: path,
          });
          const back = decodeRow(encodeRow({ table: "exchanges", row })).row;
          expect(canonicalRow(TABLES.exchanges, back)).toBe(canonicalRow(TABLES.exchanges, row));
        },
      ),
    );
  });

  it("every column is part of the hash", () => {
    const base = exchangeRow({});
    const h = rowHash("exchanges", "0".repeat(64), base);
    for (const [name] of TABLES.exchanges.columns) {
      if (name === "hash" || name === "prev_hash") continue;
      const changed = {
        ...base,
        [name]:
          name === "headers"
            ? { a: "2" }
            : name === "body_truncated"
              ? true
              : name === "requested_at"
                ? new Date(1)
                : name === "identity_groups"
                  ? ["x"]
                  : name.endsWith("id")
                    ? "00000000-0000-4000-8000-00000000000f"
                    : name === "body_bytes"
                      ? Buffer.from("z")
                      : typeof base[name] === "number"
                        ? 7
                        : "changed",
      };
      expect(rowHash("exchanges", "0".repeat(64), changed), name).not.toBe(h);
    }
    expect(rowHash("exchanges", "1".repeat(64), base)).not.toBe(h);
  });
});
