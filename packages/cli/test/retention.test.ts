/**
 * `copilot-audit retention` as an operator runs it (the built binary). Old months are fabricated honestly:
 * partitions created the way the store creates them, rows written through the audit writer with old
 * timestamps (store/test/old-months.ts); the current month is written the same way, with today's times.
 */
import { userInfo } from "node:os";
import { openStore } from "@copilot-audit/store";
import { backends } from "@copilot-audit/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prepareTestDatabase, type TestDatabaseDir } from "../../store/test/helpers.js";
import { createMonth, fillMonth, monthsAgo, ym } from "../../store/test/old-months.js";
import { audit } from "./helpers.js";

describe.each(await backends())("copilot-audit retention (%s)", (backend) => {
  let d: TestDatabaseDir;
  const pg = backend === "pg";
  const old = ["sessions", "session_ends", "exchanges", "exchange_responses", "findings"].map(
    (t) => `${t}_${ym(monthsAgo(8))}`,
  );

  beforeAll(async () => {
    d = await prepareTestDatabase(backend);
    const store = await openStore({ dataDir: d.dataDir, databaseUrl: d.url, poolSize: 2 });
    await createMonth(store.db, 8);
    const w = await store.createWriter({ writerName: "gateway-old" });
    await fillMonth(w, monthsAgo(8), 2, "old");
    await fillMonth(w, new Date(Date.now() - 60_000), 1, "new");
    await w.close();
    await store.close();
  });
  afterAll(async () => {
    await d?.cleanup();
  });

  it("--dry-run shows the months and drops nothing; the run drops them, signs off, and verify still passes", async () => {
    const dry = await audit(d, ["retention", "--older-than", "180d", "--dry-run"]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(
      /^retention: months that ended before \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(older than 180d\)\nDRY RUN: nothing was dropped\n/,
    );
    for (const p of old)
      expect(dry.stdout).toMatch(new RegExp(`${p}\\s+${monthsAgo(8).toISOString().slice(0, 7)}\\s+\\d+`));
    expect(dry.stdout).toContain("would remove 8 row(s) in 5 partition(s); 1 declared gap(s) in 1 chain(s)");
    expect(dry.stderr).toBe(""); // no progress when stderr is not a terminal

    const run = await audit(d, ["retention", "--older-than", "180d", "--reason", "POLICY-7"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(`dropped, signed off by ${userInfo().username} \\(retention run [0-9a-f-]{36}\\)`),
    );
    expect(run.stdout).toContain("removed 8 row(s) in 5 partition(s)");
    expect(run.stdout).toMatch(
      /verify: OK — \d+ rows in 2 chain\(s\) verified after the drop, across 1 declared gap\(s\)/,
    );

    const verify = await audit(d, ["verify"]);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(
      /^OK: \d+ audit rows in 2 chain\(s\) verified; every link intact\n1 declared gap\(s\): rows removed on purpose by retention runs/,
    );

    if (!pg) return; // 3 s per process on PGlite: the rest on PostgreSQL
    const again = await audit(d, ["retention", "--older-than", "180d", "--format", "json"]);
    expect(JSON.parse(again.stdout)).toMatchObject({ partitions: [], rowsRemoved: 0, runId: null });
  });

  it.runIf(pg)("refuses a horizon under a day, and says how to write one", async () => {
    const short = await audit(d, ["retention", "--older-than", "12h"]);
    expect(short.code).toBe(1);
    expect(short.stderr).toBe(
      "copilot-audit: error: retention horizon: must be at least one day (e.g. 180d)\n",
    );
    const bad = await audit(d, ["retention", "--older-than", "6mo"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid --older-than "6mo": expected a number and a unit/);
    const missing = await audit(d, ["retention"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/required option '--older-than <age>' not specified/);
  });
});
