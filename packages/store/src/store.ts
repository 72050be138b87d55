import type { Kysely } from "kysely";
import { type Backend, openBackend } from "./backend.js";
import { BodyCapture, DEFAULT_BODY_CAP_BYTES } from "./body.js";
import { describeError, isConnectionError } from "./db-errors.js";
import { ConfigInvalidError, StoreError, StoreUnavailableError } from "./errors.js";
import {
  createFingerprinter,
  type Fingerprinter,
  loadOrCreateFingerprintKey,
  parseFingerprintKey,
} from "./fingerprint.js";
import { findMigrationsDir, type MigrateResult, runMigrations } from "./migrations.js";
import type { Database } from "./schema.js";
import type { StoreLogger } from "./store-types.js";
import { type VerifyOptions, type VerifyReport, verifyChains } from "./verify.js";
import { createAuditWriter } from "./writer.js";
import type { AuditWriter, WriterOptions } from "./writer-types.js";

export interface OpenStoreOptions {
  /** postgres://… → PostgreSQL (pg Pool); unset → embedded PGlite under `<dataDir>/db`; memory:// → PGlite in memory. */
  databaseUrl?: string | undefined;
  /** Holds the embedded database, `fingerprint.key` and the spool. */
  dataDir: string;
  /** Apply pending migrations at open (default true). */
  migrate?: boolean;
  /** Stored body cap in bytes (default 1 MiB). */
  bodyCapBytes?: number;
  /** Fingerprint key: 64 hex digits or base64 of ≥ 32 bytes. Default: `<dataDir>/fingerprint.key`, created on first use. */
  fingerprintKey?: string | undefined;
  logger?: StoreLogger | undefined;
  /** Override where migrations/*.sql are read from. */
  migrationsDir?: string;
  /** pg: connect timeout (default 5000 ms). */
  connectTimeoutMs?: number;
  /** pg: statement timeout; the client gives up 1 s later (default 15000 ms). */
  queryTimeoutMs?: number;
  /** pg: pool size (default 10). */
  poolSize?: number;
}

export interface Store {
  readonly kind: "pg" | "pglite";
  /** Typed query builder over the audit schema (reports, approvals, tests). */
  readonly db: Kysely<Database>;
  readonly bodyCapBytes: number;
  /** `hmac-sha256:<hex>` of a secret with this deployment's key. */
  fingerprint(secret: string): string;
  /** A capture for a streamed body, capped at `bodyCapBytes`. */
  captureBody(): BodyCapture;
  migrate(): Promise<MigrateResult>;
  createWriter(opts: WriterOptions): Promise<AuditWriter>;
  verify(opts?: VerifyOptions): Promise<VerifyReport>;
  /** Closes open writers (flushing them), then the database. */
  close(): Promise<void>;
}

function positiveInt(name: string, v: number | undefined, dflt: number, max: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 0 || v > max)
    throw new ConfigInvalidError(`${name}: expected an integer from 0 to ${max}, got ${v}`);
  return v;
}

/** Opens the store: database backend, fingerprint key, and (unless `migrate: false`) the schema. */
export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  if (typeof opts.dataDir !== "string" || opts.dataDir.length === 0)
    throw new ConfigInvalidError("dataDir: required");
  const bodyCapBytes = positiveInt(
    "bodyCapBytes",
    opts.bodyCapBytes,
    DEFAULT_BODY_CAP_BYTES,
    64 * 1024 * 1024,
  );
  const connectTimeoutMs = positiveInt("connectTimeoutMs", opts.connectTimeoutMs, 5_000, 600_000);
  const queryTimeoutMs = positiveInt("queryTimeoutMs", opts.queryTimeoutMs, 15_000, 3_600_000);
  const poolSize = Math.max(1, positiveInt("poolSize", opts.poolSize, 10, 1000));
  const migrationsDir = findMigrationsDir(opts.migrationsDir);
  const key = opts.fingerprintKey
    ? parseFingerprintKey(opts.fingerprintKey)
    : await loadOrCreateFingerprintKey(opts.dataDir);
  const fp: Fingerprinter = createFingerprinter(key);
  const logger = opts.logger;
  const backend: Backend = await openBackend({
    databaseUrl: opts.databaseUrl,
    dataDir: opts.dataDir,
    connectTimeoutMs,
    queryTimeoutMs,
    poolSize,
    onPoolError: (err) => logger?.warn({ err: describeError(err) }, "idle database connection failed"),
  });
  const writers = new Set<AuditWriter>();
  const migrate = async (): Promise<MigrateResult> => {
    try {
      return await runMigrations(backend, { dir: migrationsDir, logger });
    } catch (err) {
      if (!(err instanceof StoreError) && isConnectionError(err)) {
        throw new StoreUnavailableError(`cannot reach the database to migrate it: ${describeError(err)}`, {
          cause: err,
        });
      }
      if (err instanceof StoreError && err.cause !== undefined && isConnectionError(err.cause)) {
        throw new StoreUnavailableError(
          `cannot reach the database to migrate it: ${describeError(err.cause)}`,
          {
            cause: err,
          },
        );
      }
      throw err;
    }
  };
  if (opts.migrate !== false) {
    try {
      await migrate();
    } catch (err) {
      await backend.close().catch(() => {});
      throw err;
    }
  }
  return {
    kind: backend.kind,
    db: backend.db,
    bodyCapBytes,
    fingerprint: fp,
    captureBody: () => new BodyCapture(bodyCapBytes),
    migrate,
    async createWriter(wopts) {
      if (!wopts || typeof wopts.writerName !== "string" || wopts.writerName.length === 0) {
        throw new ConfigInvalidError(
          "writerName: required (a stable name per gateway replica, e.g. its hostname)",
        );
      }
      const w = await createAuditWriter(
        {
          backend,
          rowContext: { fp, bodyCapBytes },
          dataDir: opts.dataDir,
          logger,
          onClosed: (closed) => writers.delete(closed),
        },
        wopts,
      );
      writers.add(w);
      return w;
    },
    verify: (vopts) => verifyChains(backend, fp, vopts),
    async close() {
      for (const w of [...writers]) await w.close().catch(() => {});
      await backend.close();
    },
  };
}
