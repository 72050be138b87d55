import { describe, expect, it } from "vitest";
import { normalizeRow } from "../src/canonical.js";
import { Chain } from "../src/chain.js";
import { buildStatements } from "../src/insert.js";
import { uuid } from "./helpers.js";

function mixed(n: number, bodyBytes = 10) {
  const chain = new Chain(uuid());
  return Array.from({ length: n }, (_, i) =>
    i % 2
      ? chain.append({
          table: "findings",
          row: normalizeRow("findings", {
            exchange_id: uuid(),
            recorded_at: new Date(),
            direction: "request",
            rule_id: "r",
            location: "$",
            offset: 0,
            length: 1,
            fingerprint: "hmac-sha256:00",
            action: "masked",
          }),
        })
      : chain.append({
          table: "exchange_responses",
          row: normalizeRow("exchange_responses", {
            exchange_id: uuid(),
            ended_at: new Date(),
            body_text: "x".repeat(bodyBytes),
            body_bytes: null,
            body_size: bodyBytes,
            body_sha256: "0".repeat(64),
            body_truncated: false,
            completion_text: i % 4 === 0 ? "done" : null,
            outcome: "completed",
          }),
        }),
  );
}

/** Rows carried by a statement: the json parameters hold one object per row. */
const rowsIn = (params: unknown[]) =>
  params
    .filter((p): p is string => typeof p === "string" && p.startsWith("[{"))
    .reduce((n, p) => n + JSON.parse(p).length, 0);

describe("buildStatements", () => {
  it("puts a commit of several tables in one statement of data-modifying CTEs", () => {
    const st = buildStatements(mixed(8));
    expect(st).toHaveLength(1);
    const s = st[0] as { text: string; params: unknown[] };
    expect(s.text).toMatch(
      /^WITH w0 AS \(INSERT INTO exchange_responses .* ON CONFLICT DO NOTHING\), w1 AS \(INSERT INTO findings/,
    );
    // one json parameter per table, plus one per non-NULL large value (4 bodies, 2 completions)
    expect(s.params).toHaveLength(2 + 4 + 2);
    expect(rowsIn(s.params)).toBe(8);
    expect(s.params.filter((p) => p === "x".repeat(10))).toHaveLength(4);
  });

  it("splits a commit too large for one statement, keeping every row", () => {
    const rows = mixed(200, 1024 * 1024);
    const st = buildStatements(rows);
    expect(st.length).toBeGreaterThan(1);
    expect(st.reduce((n, s) => n + rowsIn(s.params), 0)).toBe(200);
    for (const s of st) expect(s.params.length).toBeLessThan(65_535);
  });

  it("produces nothing for no rows", () => {
    expect(buildStatements([])).toEqual([]);
  });
});
