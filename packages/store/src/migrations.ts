import { existsSync, readdirSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Backend, SqlSession } from "./backend.js";
import { sha256Hex } from "./canonical.js";
import { describeError } from "./db-errors.js";
import { MigrationFailedError, MigrationOrderError, StoreError } from "./errors.js";

// A runner for plain numbered .sql files (top-level migrations/): applied in name order, one transaction per
// file, recorded in schema_migrations, serialised across processes by a pg advisory lock. Like Kysely's
// Migrator, it refuses when an applied migration is missing on disk or a new one sorts before an applied one.
// Files must not contain transaction control (BEGIN/COMMIT): the runner wraps each one.

/** Advisory lock key of the runner (arbitrary, fixed). */
const MIGRATION_LOCK_KEY = "7220577213570100";

export interface MigrationFile {
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
}

export interface MigrateResult {
  /** Migrations applied by this call, in order. */
  readonly applied: string[];
  /** Migrations that were already applied before. */
  readonly alreadyApplied: string[];
  /** Monthly partitions created by this call (current and next month of every partitioned table). */
  readonly partitionsCreated: number;
}

export interface MigrationLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * The migrations directory: `override` if given, else the first `migrations/` holding .sql files found
 * walking up from this module (works from both src/ and dist/).
 */
export function findMigrationsDir(override?: string): string {
  if (override) {
    const dir = resolve(override);
    if (!existsSync(dir))
      throw new StoreError("migrations_not_found", `migrations directory ${dir} does not exist`);
    return dir;
  }
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, "migrations");
    if (existsSync(candidate) && readdirSync(candidate).some((f) => f.endsWith(".sql"))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new StoreError(
    "migrations_not_found",
    `no migrations/ directory with .sql files above ${dirname(fileURLToPath(import.meta.url))}; pass migrationsDir`,
  );
}

/** Reads every `*.sql` file of `dir`, sorted by name. */
export async function readMigrations(dir: string): Promise<MigrationFile[]> {
  const names = (await readdir(dir)).filter((f) => f.endsWith(".sql")).sort();
  const files: MigrationFile[] = [];
  for (const name of names) {
    const sql = await readFile(join(dir, name), "utf8");
    files.push({ name, sql, checksum: sha256Hex(sql) });
  }
  return files;
}

/** Decides what to apply; throws MigrationOrderError when disk and database disagree. */
export function planMigrations(
  files: readonly MigrationFile[],
  appliedNames: readonly string[],
): MigrationFile[] {
  const onDisk = new Set(files.map((f) => f.name));
  for (const name of appliedNames) {
    if (!onDisk.has(name)) {
      throw new MigrationOrderError(
        "migration_missing",
        name,
        `migration ${name} was applied to this database but is missing from the migrations directory`,
      );
    }
  }
  const applied = new Set(appliedNames);
  const lastApplied = [...appliedNames].sort().at(-1);
  const pending = files.filter((f) => !applied.has(f.name));
  for (const f of pending) {
    if (lastApplied !== undefined && f.name < lastApplied) {
      throw new MigrationOrderError(
        "migration_out_of_order",
        f.name,
        `migration ${f.name} is new but sorts before the already applied ${lastApplied}; rename it to sort last`,
      );
    }
  }
  return pending;
}

async function applyOne(s: SqlSession, file: MigrationFile): Promise<void> {
  await s.exec("BEGIN");
  try {
    await s.exec(file.sql);
    await s.query("INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)", [
      file.name,
      file.checksum,
    ]);
    await s.exec("COMMIT");
  } catch (err) {
    await s.exec("ROLLBACK").catch(() => {});
    throw new MigrationFailedError(file.name, `migration ${file.name} failed: ${describeError(err)}`, {
      cause: err,
    });
  }
}

/** Applies pending migrations, then makes sure the current and next monthly partitions exist. */
export async function runMigrations(
  backend: Backend,
  opts: { dir: string; logger?: MigrationLogger | undefined },
): Promise<MigrateResult> {
  const files = await readMigrations(opts.dir);
  return backend.session(
    async (s) => {
      await s.query(`SELECT pg_advisory_lock(${MIGRATION_LOCK_KEY})`);
      try {
        await s.exec(
          "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, checksum text NOT NULL, " +
            "applied_at timestamptz NOT NULL DEFAULT now())",
        );
        const rows = await s.query<{ name: string; checksum: string }>(
          "SELECT name, checksum FROM schema_migrations ORDER BY name",
        );
        const byName = new Map(files.map((f) => [f.name, f]));
        for (const r of rows) {
          const f = byName.get(r.name);
          if (f && f.checksum !== r.checksum) {
            opts.logger?.warn(
              { migration: r.name },
              "an applied migration file changed since it was applied",
            );
          }
        }
        const pending = planMigrations(
          files,
          rows.map((r) => r.name),
        );
        const applied: string[] = [];
        for (const f of pending) {
          await applyOne(s, f);
          applied.push(f.name);
          opts.logger?.info({ migration: f.name }, "migration applied");
        }
        const partitionsCreated = await ensurePartitionsIn(s);
        return { applied, alreadyApplied: rows.map((r) => r.name), partitionsCreated };
      } catch (err) {
        if (err instanceof StoreError) throw err;
        throw new MigrationFailedError(null, `migrations failed: ${describeError(err)}`, { cause: err });
      } finally {
        await s.query(`SELECT pg_advisory_unlock(${MIGRATION_LOCK_KEY})`).catch(() => {});
      }
    },
    { noTimeout: true },
  );
}

async function ensurePartitionsIn(s: SqlSession): Promise<number> {
  const fn = await s.query<{ ok: boolean }>(
    "SELECT to_regproc('copilot_audit_ensure_partitions') IS NOT NULL AS ok",
  );
  if (!fn[0]?.ok) return 0;
  const rows = await s.query<{ n: number }>("SELECT copilot_audit_ensure_partitions(1) AS n");
  return Number(rows[0]?.n ?? 0);
}

/** Creates the current and next monthly partitions if missing (idempotent; for writer start and a timer). */
export async function ensurePartitions(backend: Backend): Promise<number> {
  return backend.session((s) => ensurePartitionsIn(s));
}
