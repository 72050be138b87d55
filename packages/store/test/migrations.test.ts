import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { backends, createTestDatabase } from "@copilot-audit/testkit";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Backend, openBackend } from "../src/backend.js";
import { TABLES } from "../src/columns.js";
import {
  findMigrationsDir,
  type MigrationFile,
  openStore,
  planMigrations,
  StoreError,
} from "../src/index.js";
import { runMigrations } from "../src/migrations.js";
import { openTestStore, requestRecord, responseRecord, type TestStore, uuid } from "./helpers.js";

const APPEND_ONLY = "copilot-audit: audit rows are append-only";

const file = (name: string): MigrationFile => ({ name, sql: "", checksum: "" });

/** Every migration in the repository, in the order the runner applies them. */
const ALL = readdirSync(findMigrationsDir())
  .filter((f) => f.endsWith(".sql"))
  .sort();

describe("planMigrations", () => {
  it("returns pending files in name order", () => {
    const plan = planMigrations([file("0001_a.sql"), file("0002_b.sql"), file("0003_c.sql")], ["0001_a.sql"]);
    expect(plan.map((f) => f.name)).toEqual(["0002_b.sql", "0003_c.sql"]);
  });

  it("refuses when an applied migration is missing on disk", () => {
    expect(() => planMigrations([file("0002_b.sql")], ["0001_a.sql"])).toThrowError(
      expect.objectContaining({ code: "migration_missing", migration: "0001_a.sql" }),
    );
  });

  it("refuses a new migration that sorts before an applied one", () => {
    expect(() =>
      planMigrations(
        [file("0001_a.sql"), file("0002_b.sql"), file("0003_c.sql")],
        ["0001_a.sql", "0003_c.sql"],
      ),
    ).toThrowError(expect.objectContaining({ code: "migration_out_of_order", migration: "0002_b.sql" }));
  });
});

describe("findMigrationsDir", () => {
  it("finds the top-level migrations/ from the sources", () => {
    expect(findMigrationsDir()).toMatch(/migrations$/);
    expect(readdirSync(findMigrationsDir())).toContain("0001_audit.sql");
  });

  it("reports a missing override", () => {
    expect(() => findMigrationsDir("/nonexistent/migrations")).toThrowError(
      expect.objectContaining({ code: "migrations_not_found" }),
    );
  });
});

describe.each(await backends())("migrations on %s", (backend) => {
  let t: TestStore;
  let extraDir: string;

  beforeAll(async () => {
    // A fresh database: every migration runs here, on both backends.
    t = await openTestStore(backend, {}, { pristine: true });
    extraDir = mkdtempSync(join(tmpdir(), "copilot-audit-mig-"));
  });
  afterAll(async () => {
    await runnerBackend?.close();
    await t.cleanup();
    rmSync(extraDir, { recursive: true, force: true });
  });

  /**
   * The runner on the same database through a second backend (PGlite: the store is closed first: one owner).
   * Opened once, for all the runner tests at the end of this suite.
   */
  let runnerBackend: Backend | undefined;
  async function runner(): Promise<Backend> {
    if (!runnerBackend) {
      if (backend === "pglite") await t.store.close().catch(() => {});
      runnerBackend = await openBackend({
        databaseUrl: t.url,
        dataDir: t.dataDir,
        connectTimeoutMs: 5_000,
        queryTimeoutMs: 15_000,
        poolSize: 1,
        onPoolError: () => {},
      });
    }
    return runnerBackend;
  }
  const migrateWith = async (dir: string) =>
    runMigrations(await runner(), { dir }).catch((e: unknown) => e as StoreError);

  function migrationsWith(name: string, files: Record<string, string>): string {
    const dir = join(extraDir, name);
    mkdirSync(dir);
    for (const f of ALL) copyFileSync(join(findMigrationsDir(), f), join(dir, f));
    for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
    return dir;
  }

  it("applied every migration and records it", async () => {
    const rows = await t.store.db
      .selectFrom("schema_migrations")
      .select(["name", "checksum"])
      .orderBy("name")
      .execute();
    expect(rows.map((r) => r.name)).toEqual(ALL);
    expect(rows[0]?.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it("is idempotent: a second run applies nothing", async () => {
    const r = await t.store.migrate();
    expect(r.applied).toEqual([]);
    expect(r.alreadyApplied).toEqual(ALL);
    expect(r.partitionsCreated).toBe(0);
  });

  it("created the current and next monthly partitions plus DEFAULT for each partitioned table", async () => {
    const now = new Date();
    const ym = (d: Date) => `${d.getUTCFullYear()}_${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
    const next = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
    for (const table of ["sessions", "session_ends", "exchanges", "exchange_responses", "findings"]) {
      const res = await sql<{ relname: string }>`
        SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = ${table} ORDER BY 1`.execute(t.store.db);
      expect(res.rows.map((r) => r.relname)).toEqual([
        `${table}_${ym(now)}`,
        `${table}_${ym(next)}`,
        `${table}_default`,
      ]);
    }
  });

  it("columns.ts mirrors the tables (names and nullability)", async () => {
    for (const spec of Object.values(TABLES)) {
      const res = await sql<{ column_name: string; is_nullable: string }>`
        SELECT column_name, is_nullable FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = ${spec.table} ORDER BY ordinal_position`.execute(
        t.store.db,
      );
      const dbCols = res.rows.map((r) => r.column_name);
      expect([...dbCols].sort(), spec.table).toEqual(spec.columns.map(([n]) => n).sort());
      for (const r of res.rows) {
        expect(r.is_nullable === "YES", `${spec.table}.${r.column_name}`).toBe(
          spec.nullable.has(r.column_name),
        );
      }
    }
  });

  describe("append-only audit tables (the triggers of 0001)", () => {
    let exchangeId: string;
    let partition: string;

    beforeAll(async () => {
      const w = await t.store.createWriter({ writerName: "append-only" });
      exchangeId = uuid();
      await w.requestStarted(requestRecord(exchangeId));
      await w.responseFinished(responseRecord(exchangeId));
      await w.close();
      const now = new Date();
      partition = `exchanges_${now.getUTCFullYear()}_${String(now.getUTCMonth() + 1).padStart(2, "0")}`;
    });
    const refused = async (statement: ReturnType<typeof sql>) => {
      const err = await statement.execute(t.store.db).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(err?.message).toContain(APPEND_ONLY);
    };

    it("refuses UPDATE of a request row, through the parent and on the partition", async () => {
      await refused(sql`UPDATE exchanges SET path = '/x' WHERE id = ${exchangeId}`);
      await refused(sql`UPDATE ${sql.table(partition)} SET path = '/x' WHERE id = ${exchangeId}`);
    });

    it("refuses DELETE of request and response rows", async () => {
      await refused(sql`DELETE FROM exchanges WHERE id = ${exchangeId}`);
      await refused(sql`DELETE FROM exchange_responses WHERE exchange_id = ${exchangeId}`);
      await refused(sql`DELETE FROM chains`);
      await refused(sql`DELETE FROM chain_closes`);
    });

    it("refuses TRUNCATE of every audit table, of its monthly partitions and of its DEFAULT partition", async () => {
      for (const table of [
        "chains",
        "chain_closes",
        "chain_gaps",
        "sessions",
        "session_ends",
        "exchanges",
        "exchange_responses",
        "findings",
      ]) {
        await refused(sql`TRUNCATE ${sql.table(table)}`);
      }
      await refused(sql`TRUNCATE ${sql.table(partition)}`);
      await refused(sql`TRUNCATE exchanges_default`);
      await refused(sql`TRUNCATE findings_default`);
    });

    it("partitions created later get the TRUNCATE trigger too (row triggers are inherited)", async () => {
      const created = await sql<{ n: number }>`SELECT copilot_audit_ensure_partitions(3) AS n`.execute(
        t.store.db,
      );
      expect(created.rows[0]?.n).toBe(10); // months +2 and +3 of 5 tables
      const later = new Date();
      later.setUTCDate(1);
      later.setUTCMonth(later.getUTCMonth() + 3);
      const name = `exchanges_${later.getUTCFullYear()}_${String(later.getUTCMonth() + 1).padStart(2, "0")}`;
      await refused(sql`TRUNCATE ${sql.table(name)}`);
      const trig = await sql<{ n: number }>`
        SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = ${name}::regclass AND NOT tgisinternal`.execute(
        t.store.db,
      );
      expect(trig.rows[0]?.n).toBe(2);
    });

    it("still accepts inserts and leaves the rows unchanged", async () => {
      const rows = await t.store.db.selectFrom("exchanges").select(["id", "path"]).execute();
      expect(rows).toEqual([{ id: exchangeId, path: "/chat/completions" }]);
    });
  });

  it("refuses to run when an applied migration is missing from the directory", async () => {
    const dir = join(extraDir, "missing");
    mkdirSync(dir);
    writeFileSync(join(dir, "0009_other.sql"), "SELECT 1;\n");
    expect(await migrateWith(dir)).toMatchObject({ code: "migration_missing", migration: "0001_audit.sql" });
  });

  it("applies a new migration in its own transaction, and rolls a failing one back", async () => {
    const dir = migrationsWith("ok", {
      "9002_extra.sql": "CREATE TABLE extra_a (x int);\nCREATE TABLE extra_b (y int);\n",
      "9003_broken.sql": "CREATE TABLE extra_c (x int);\nSELECT * FROM no_such_table;\n",
    });
    const err = await migrateWith(dir);
    expect(err).toBeInstanceOf(StoreError);
    expect(err).toMatchObject({ code: "migration_failed", migration: "9003_broken.sql" });
    const b = await runner();
    const names = await b.db.selectFrom("schema_migrations").select("name").orderBy("name").execute();
    expect(names.map((n) => n.name)).toEqual([...ALL, "9002_extra.sql"]);
    const tables = await sql<{ a: string | null; c: string | null }>`
      SELECT to_regclass('extra_a')::text AS a, to_regclass('extra_c')::text AS c`.execute(b.db);
    expect(tables.rows[0]).toEqual({ a: "extra_a", c: null });
  });

  it("refuses a new file that sorts before the last applied one", async () => {
    const dir = migrationsWith("order", {
      "9002_extra.sql": "CREATE TABLE extra_a (x int);\nCREATE TABLE extra_b (y int);\n",
      "0001_b_late.sql": "SELECT 1;\n",
    });
    expect(await migrateWith(dir)).toMatchObject({
      code: "migration_out_of_order",
      migration: "0001_b_late.sql",
    });
  });

  it("openStore reports a migration problem with its code", async () => {
    if (backend === "pglite") return; // one owner at a time: covered through the runner above
    const dir = join(extraDir, "missing");
    await expect(
      openStore({ dataDir: t.dataDir, databaseUrl: t.url, migrationsDir: dir, poolSize: 1 }),
    ).rejects.toMatchObject({
      code: "migration_missing",
    });
  });
});

describe.runIf(!!process.env.TEST_DATABASE_URL)("migrations racing on one server", () => {
  it("several databases migrate at once (cluster-global role creation is race-safe)", async () => {
    const dbs = await Promise.all([1, 2, 3, 4].map(() => createTestDatabase({ backend: "pg" })));
    const dirs = dbs.map(() => mkdtempSync(join(tmpdir(), "copilot-audit-race-")));
    try {
      const stores = await Promise.all(
        dbs.map((d, i) => openStore({ dataDir: dirs[i] as string, databaseUrl: d.url, poolSize: 1 })),
      );
      for (const s of stores) {
        const r = await sql<{
          n: string;
        }>`SELECT count(*)::text AS n FROM pg_roles
           WHERE rolname IN ('copilot_audit_auditor', 'copilot_audit_reader')`.execute(s.db);
        expect(r.rows[0]?.n).toBe("2");
        await s.close();
      }
    } finally {
      await Promise.all(dbs.map((d) => d.drop()));
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });

  it("two processes migrating one database serialise on the advisory lock", async () => {
    const d = await createTestDatabase({ backend: "pg" });
    const dirs = [1, 2].map(() => mkdtempSync(join(tmpdir(), "copilot-audit-race-")));
    try {
      const stores = await Promise.all(
        dirs.map((dir) => openStore({ dataDir: dir, databaseUrl: d.url, poolSize: 1 })),
      );
      const names = await stores[0]?.db
        .selectFrom("schema_migrations")
        .select("name")
        .orderBy("name")
        .execute();
      expect(names?.map((n) => n.name)).toEqual(ALL);
      for (const s of stores) await s.close();
    } finally {
      await d.drop();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    }
  });
});
