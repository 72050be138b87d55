import { describe, expect, it } from "vitest";
import { normalizeRow } from "../src/canonical.js";
import { Chain } from "../src/chain.js";
import { TABLES } from "../src/columns.js";
import { buildStatements } from "../src/insert.js";
import { uuid } from "./helpers.js";

function mixed(n: number) {
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
          table: "session_ends",
          row: normalizeRow("session_ends", {
            session_id: uuid(),
            closed_at: new Date(),
            bytes_from_client: 0,
            bytes_to_client: 0,
            close_reason: "x",
            exchange_count: 0,
          }),
        }),
  );
}

describe("buildStatements", () => {
  it("puts a small commit of several tables in one statement of data-modifying CTEs", () => {
    const st = buildStatements(mixed(4));
    expect(st).toHaveLength(1);
    expect(st[0]?.text).toMatch(
      /^WITH w0 AS \(INSERT INTO session_ends .* ON CONFLICT DO NOTHING\), w1 AS \(INSERT INTO findings/,
    );
    expect(st[0]?.params).toHaveLength(
      2 * TABLES.session_ends.columns.length + 2 * TABLES.findings.columns.length,
    );
  });

  it("splits a large commit to stay under the 65,535-parameter limit, keeping every row", () => {
    const rows = mixed(12_000);
    const st = buildStatements(rows);
    expect(st.length).toBeGreaterThan(1);
    for (const s of st) expect(s.params.length).toBeLessThanOrEqual(65_535);
    const total = st.reduce((n, s) => n + s.params.length, 0);
    expect(total).toBe(6_000 * TABLES.session_ends.columns.length + 6_000 * TABLES.findings.columns.length);
  });

  it("produces nothing for no rows", () => {
    expect(buildStatements([])).toEqual([]);
  });
});
