import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { backends, createTestDatabase } from "@copilot-audit/testkit";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TABLES } from "../src/columns.js";
import {
  findMigrationsDir,
  type MigrationFile,
  type OpenStoreOptions,
  openStore,
  planMigrations,
  type Store,
  StoreError,
} from "../src/index.js";
import { openTestStore, type TestStore } from "./helpers.js";

const file = (name: string): MigrationFile => ({ name, sql: "", checksum: "" });

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

describe("migrations on a fresh in-memory PGlite", () => {
  it("applies every migration and creates the partitions", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "copilot-audit-mig-"));
    const s = await openStore({ dataDir, databaseUrl: "memory://" });
    try {
      const names = await s.db.selectFrom("schema_migrations").select("name").execute();
      expect(names.map((n) => n.name)).toEqual(["0001_audit.sql"]);
      const again = await s.migrate();
      expect(again.applied).toEqual([]);
    } finally {
      await s.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe.each(await backends())("migrations on %s", (backend) => {
  let t: TestStore;
  let extraDir: string;

  beforeAll(async () => {
    t = await openTestStore(backend);
    extraDir = mkdtempSync(join(tmpdir(), "copilot-audit-mig-"));
  });
  afterAll(async () => {
    await t.cleanup();
    rmSync(extraDir, { recursive: true, force: true });
  });

  /** Another store on the same database (PGlite: the main store is closed first, one owner at a time). */
  async function reopen(opts: Partial<OpenStoreOptions>): Promise<Store> {
    if (backend === "pglite") await t.store.close().catch(() => {});
    return openStore({ dataDir: t.dataDir, databaseUrl: t.url, poolSize: 2, ...opts });
  }

  function migrationsWith(name: string, files: Record<string, string>): string {
    const dir = join(extraDir, name);
    mkdirSync(dir);
    copyFileSync(join(findMigrationsDir(), "0001_audit.sql"), join(dir, "0001_audit.sql"));
    for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
    return dir;
  }

  it("applied 0001 and records it", async () => {
    const rows = await t.store.db.selectFrom("schema_migrations").select(["name", "checksum"]).execute();
    expect(rows.map((r) => r.name)).toEqual(["0001_audit.sql"]);
    expect(rows[0]?.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it("is idempotent: a second run applies nothing", async () => {
    const r = await t.store.migrate();
    expect(r.applied).toEqual([]);
    expect(r.alreadyApplied).toEqual(["0001_audit.sql"]);
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

  it("refuses to run when an applied migration is missing from the directory", async () => {
    const dir = join(extraDir, "missing");
    mkdirSync(dir);
    writeFileSync(join(dir, "0009_other.sql"), "SELECT 1;\n");
    const err = await reopen({ migrationsDir: dir }).catch((e: unknown) => e);
    expect((err as StoreError).code).toBe("migration_missing");
  });

  it("applies a new migration in its own transaction, and rolls a failing one back", async () => {
    const dir = migrationsWith("ok", {
      "0002_extra.sql": "CREATE TABLE extra_a (x int);\nCREATE TABLE extra_b (y int);\n",
      "0003_broken.sql": "CREATE TABLE extra_c (x int);\nSELECT * FROM no_such_table;\n",
    });
    const err = await reopen({ migrationsDir: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe("migration_failed");
    expect((err as StoreError).message).toContain("0003_broken.sql");
    const s = await reopen({ migrate: false });
    try {
      const names = await s.db.selectFrom("schema_migrations").select("name").orderBy("name").execute();
      expect(names.map((n) => n.name)).toEqual(["0001_audit.sql", "0002_extra.sql"]);
      const tables = await sql<{ a: string | null; c: string | null }>`
        SELECT to_regclass('extra_a')::text AS a, to_regclass('extra_c')::text AS c`.execute(s.db);
      expect(tables.rows[0]).toEqual({ a: "extra_a", c: null });
    } finally {
      await s.close();
    }
  });

  it("refuses a new file that sorts before the last applied one", async () => {
    const dir = migrationsWith("order", {
      "0002_extra.sql": "CREATE TABLE extra_a (x int);\nCREATE TABLE extra_b (y int);\n",
      "0001_b_late.sql": "SELECT 1;\n",
    });
    const err = await reopen({ migrationsDir: dir }).catch((e: unknown) => e);
    expect((err as StoreError).code).toBe("migration_out_of_order");
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
        }>`SELECT count(*)::text AS n FROM pg_roles WHERE rolname = 'copilot_audit_auditor'`.execute(s.db);
        expect(r.rows[0]?.n).toBe("1");
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
      const names = await stores[0]?.db.selectFrom("schema_migrations").select("name").execute();
      expect(names?.map((n) => n.name)).toEqual(["0001_audit.sql"]);
      for (const s of stores) await s.close();
    } finally {
      await d.drop();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    }
  });
});
