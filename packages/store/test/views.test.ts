import { backends } from "@copilot-audit/testkit";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUDIT_TABLES } from "../src/columns.js";
import { openTestStore, type TestStore } from "./helpers.js";

// The auditor views (migrations 0002, and 0003 for approval_events in audit_chain_rows) against the schema. Their contents are tested on a database
// filled through the gateway (reports.test.ts, auditing-docs.test.ts).

describe.each(await backends())("auditor views on %s", (backend) => {
  let t: TestStore;
  beforeAll(async () => {
    t = await openTestStore(backend);
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it("audit_chain_rows covers every hash-chained table (a missing one would look like holes in its chains)", async () => {
    const def = await sql<{ d: string }>`SELECT pg_get_viewdef('audit_chain_rows'::regclass) AS d`.execute(
      t.store.db,
    );
    const tables = [...(def.rows[0]?.d ?? "").matchAll(/FROM (\w+)/g)].map((m) => m[1]);
    expect([...tables].sort()).toEqual([...AUDIT_TABLES].sort());
  });

  it("every audit_* view is granted to copilot_audit_reader, and no raw table is", async () => {
    const grants = await sql<{ table_name: string }>`
      SELECT DISTINCT table_name FROM information_schema.role_table_grants
      WHERE grantee = 'copilot_audit_reader' AND table_schema = current_schema()`.execute(t.store.db);
    const views = await sql<{ table_name: string }>`
      SELECT table_name FROM information_schema.views WHERE table_schema = current_schema()`.execute(
      t.store.db,
    );
    const granted = new Set(grants.rows.map((r) => r.table_name));
    const allViews = new Set(views.rows.map((r) => r.table_name));
    for (const v of allViews) if (v.startsWith("audit_")) expect(granted, v).toContain(v);
    for (const g of granted) expect(allViews, `${g} is not a view`).toContain(g);
  });
});
