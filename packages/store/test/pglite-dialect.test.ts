import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestStore, type TestStore } from "./helpers.js";

// The PGlite Kysely dialect: one connection, handed out exclusively, so transactions never interleave.

describe("PGlite dialect", () => {
  let t: TestStore;
  beforeAll(async () => {
    t = await openTestStore("pglite");
    await sql`CREATE TABLE dialect_t (n int)`.execute(t.store.db);
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it("runs typed queries, returns affected rows and int8 as strings (like pg)", async () => {
    const r = await sql<{
      big: string;
      small: number;
    }>`SELECT 9007199254740993::int8 AS big, 7::int4 AS small`.execute(t.store.db);
    expect(r.rows).toEqual([{ big: "9007199254740993", small: 7 }]);
    const ins = await sql`INSERT INTO dialect_t VALUES (1), (2)`.execute(t.store.db);
    expect(ins.numAffectedRows).toBe(2n);
  });

  it("serialises concurrent transactions: a transaction sees no interleaved writes", async () => {
    const events: string[] = [];
    const tx = (name: string) =>
      t.store.db.transaction().execute(async (trx) => {
        events.push(`${name}:begin`);
        const before = await sql<{ n: number }>`SELECT count(*)::int AS n FROM dialect_t`.execute(trx);
        await new Promise((r) => setTimeout(r, 30));
        await sql`INSERT INTO dialect_t VALUES (10)`.execute(trx);
        const after = await sql<{ n: number }>`SELECT count(*)::int AS n FROM dialect_t`.execute(trx);
        events.push(`${name}:end`);
        return (after.rows[0]?.n ?? 0) - (before.rows[0]?.n ?? 0);
      });
    const [a, b, c] = await Promise.all([tx("a"), tx("b"), tx("c")]);
    expect([a, b, c]).toEqual([1, 1, 1]);
    expect(events).toEqual(["a:begin", "a:end", "b:begin", "b:end", "c:begin", "c:end"]);
  });

  it("rolls back a failed transaction and the connection stays usable", async () => {
    const before = await sql<{ n: number }>`SELECT count(*)::int AS n FROM dialect_t`.execute(t.store.db);
    await expect(
      t.store.db.transaction().execute(async (trx) => {
        await sql`INSERT INTO dialect_t VALUES (99)`.execute(trx);
        await sql`SELECT * FROM no_such_table`.execute(trx);
      }),
    ).rejects.toThrow(/no_such_table/);
    const after = await sql<{ n: number }>`SELECT count(*)::int AS n FROM dialect_t`.execute(t.store.db);
    expect(after.rows[0]?.n).toBe(before.rows[0]?.n);
  });
});
