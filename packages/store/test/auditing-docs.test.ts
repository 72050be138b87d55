/**
 * docs/auditing.md stays true: every ```sql recipe runs — as copilot_audit_reader, so it needs nothing but the
 * views — against a database filled through the gateway (plus one retention run over a fabricated old month),
 * a few give the answers the traffic implies, and every view's column table lists exactly the view's columns.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { backends } from "@copilot-audit/testkit";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyRetention } from "../src/index.js";
import { type AuditFixture, fillThroughGateway } from "./gateway-fixture.js";
import { createMonth, fillMonth, monthsAgo } from "./old-months.js";

const doc = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "../../../docs/auditing.md"), "utf8");

interface Recipe {
  title: string;
  sql: string;
}

/** Each ```sql block with the nearest heading above it. */
function recipes(): Recipe[] {
  const out: Recipe[] = [];
  let title = "";
  let block: string[] | null = null;
  for (const line of doc.split("\n")) {
    if (block) {
      if (/^```\s*$/.test(line)) {
        out.push({ title, sql: block.join("\n") });
        block = null;
      } else block.push(line);
    } else if (/^```sql\s*$/.test(line)) block = [];
    else if (/^#{2,4} /.test(line)) title = line.replace(/^#+ /, "");
  }
  return out;
}

/** `#### \`view\`` sections: the first column of their table. */
function documentedColumns(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let view: string | null = null;
  for (const line of doc.split("\n")) {
    const h = /^#### `(\w+)`/.exec(line);
    if (h) {
      view = h[1] as string;
      out.set(view, []);
      continue;
    }
    if (/^#{1,4} /.test(line)) view = null;
    const cell = /^\| `(\w+)` \|/.exec(line);
    if (view && cell) out.get(view)?.push(cell[1] as string);
  }
  return out;
}

const quote = (v: string) => `'${v.replaceAll("'", "''")}'`;

describe.each(await backends())(
  "docs/auditing.md against a database filled through the gateway (%s)",
  (backend) => {
    let f: AuditFixture;
    let vars: Record<string, string>;
    const results = new Map<string, Array<Record<string, unknown>>>();

    beforeAll(async () => {
      f = await fillThroughGateway(backend);
      const store = f.db.store;
      // An old month, dropped by retention: the gap-aware recipes then have a declared gap to pass over.
      await createMonth(store.db, 8);
      const old = await store.createWriter({ writerName: "old-gateway" });
      await fillMonth(old, monthsAgo(8), 2, "old");
      await fillMonth(old, new Date(Date.now() - 1000), 1, "recent");
      await old.close();
      await applyRetention(store, {
        olderThanMs: 180 * 86_400_000,
        olderThan: "180d",
        signedOffBy: "docs-test",
      });
      const session = await store.db
        .selectFrom("audit_exchanges")
        .select("session_id")
        .where("client_request_id", "=", "alice-chat-1")
        .executeTakeFirstOrThrow();
      const now = new Date();
      vars = {
        user: "alice@example.com",
        day: now.toISOString().slice(0, 10),
        month: `${now.toISOString().slice(0, 7)}-01`,
        session: session.session_id as string,
        fingerprint: store.fingerprint(f.secrets.alicePrompt),
      };
    });
    afterAll(async () => {
      await f?.close();
    });

    it("has at least ten recipes", () => {
      expect(recipes().length).toBeGreaterThanOrEqual(10);
    });

    it("every recipe runs as copilot_audit_reader", async () => {
      for (const r of recipes()) {
        const text = r.sql.replace(/:'(\w+)'/g, (_, name: string) => {
          const v = vars[name];
          if (v === undefined)
            throw new Error(`recipe "${r.title}" uses :'${name}', which the test does not know`);
          return quote(v);
        });
        expect(text, r.title).not.toMatch(/:'\w+'/);
        const rows = await f.db.store.db
          .transaction()
          .execute(async (trx) => {
            await sql`SET LOCAL ROLE copilot_audit_reader`.execute(trx);
            return (await sql.raw<Record<string, unknown>>(text).execute(trx)).rows;
          })
          .catch((e: Error) => {
            throw new Error(`recipe "${r.title}" failed: ${e.message}`);
          });
        results.set(r.title, rows);
      }
    });

    it("the recipes give the answers the traffic implies", () => {
      const get = (title: string) => {
        const rows = results.get(title);
        if (!rows) throw new Error(`no recipe titled "${title}"`);
        return rows;
      };
      // alice's 6 through the gateway, and the old gateway's exchange of today (written as alice too)
      expect(get("Everything a user sent and got on a given day")).toHaveLength(7);
      expect(get("A whole conversation in wire order").map((r) => Number(r.session_seq))).toEqual([
        1, 2, 3, 4,
      ]);
      expect(get("Secrets that went through in clear").map((r) => r.user_subject)).toEqual(["bob"]);
      expect(get("Was this secret ever seen, and by whom").map((r) => [r.user_subject, r.action])).toEqual([
        ["alice", "masked"],
      ]);
      expect(
        get("Which completions contained a private key (or any secret)").map((r) => [
          r.user_subject,
          r.rule_id,
        ]),
      ).toEqual([["alice", "github-pat"]]);
      const failures = get("Refusals and failures, with their reasons").map((r) => [
        Number(r.status),
        r.outcome,
      ]);
      expect(failures).toEqual(
        expect.arrayContaining([
          [429, "completed"],
          [421, "refused"],
        ]),
      );
      expect(get("Who used Copilot most this week, and with which models")[0]).toMatchObject({
        user_subject: "alice",
      });
      const proof = get("Prove the log for a month is complete");
      expect(proof.length).toBeGreaterThanOrEqual(3); // the gateway's chain, the old gateway's, retention's
      for (const r of proof)
        expect([r.chain_id, Number(r.holes), Number(r.broken_links)]).toEqual([r.chain_id, 0, 0]);
      expect(get("Retention history").map((r) => r.signed_off_by)).toEqual(["docs-test"]);
    });

    it("documents exactly the columns of every auditor view, in order", async () => {
      const documented = documentedColumns();
      expect([...documented.keys()].sort()).toEqual([
        "audit_chain_gaps",
        "audit_chain_rows",
        "audit_chains",
        "audit_daily_activity",
        "audit_exchanges",
        "audit_findings",
        "audit_retention_runs",
        "audit_sessions",
      ]);
      for (const [view, columns] of documented) {
        const res = await sql<{ column_name: string }>`SELECT column_name FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = ${view} ORDER BY ordinal_position`.execute(
          f.db.store.db,
        );
        expect(columns, view).toEqual(res.rows.map((r) => r.column_name));
      }
    });
  },
);
