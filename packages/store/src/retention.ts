import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { CompiledQuery, type Kysely, sql, type Transaction } from "kysely";
import { normalizeRow } from "./canonical.js";
import { Chain, type ChainedRow } from "./chain.js";
import { QueryInvalidError, RetentionRefusedError } from "./errors.js";
import { gapReason, gapSignature } from "./gaps.js";
import { buildStatements } from "./insert.js";
import {
  listPartitions,
  monthStart,
  type PartitionedTable,
  type PartitionInfo,
  timeColumn,
} from "./partitions.js";
import type { PendingRow } from "./rows.js";
import type { Database } from "./schema.js";
import type { Store } from "./store.js";
import type { VerifyReport } from "./verify.js";

// Retention: drops whole monthly partitions whose month ended before the horizon (now − olderThan), never
// DELETEs a row, never touches the current month. Before anything is dropped:
//   1. every chain is verified (a problem in rows about to be dropped refuses the run: dropping them would
//      destroy the evidence of tampering);
//   2. under a SHARE lock on the partitions (no row can arrive in them meanwhile), the seq ranges each chain
//      loses are computed;
//   3. in the same transaction as the DROPs, a new one-shot chain records the run: its genesis, one signed
//      chain_gaps declaration per lost seq range (so verify passes over exactly those ranges), the
//      retention_runs row (who signed off, which months, how many rows, the chain heads just verified) and
//      its clean close. Either all of it commits with the drops, or nothing happens.
// Rows older than the horizon that sit in a DEFAULT partition cannot be dropped without DELETE: they are
// kept and counted (keptInDefault).

export interface RetentionOptions {
  /** Drop months that ended more than this long ago (at least one day). */
  olderThanMs: number;
  /** The horizon as the operator wrote it (e.g. "180d"), for the record. */
  olderThan: string;
  /** Report what would be dropped; change nothing (still verifies). */
  dryRun?: boolean;
  /** Who signs the run off (the CLI passes the OS user). */
  signedOffBy: string;
  /** Free text kept with the run (ticket, policy). */
  reason?: string | undefined;
  /** How long to wait for the locks before giving up (default 10 s). */
  lockTimeoutMs?: number;
  onProgress?: (p: RetentionProgress) => void;
}

export interface RetentionProgress {
  step: "verify" | "count" | "drop";
  done: number;
  /** null while unknown (verify). */
  total: number | null;
}

export interface RetentionPartition {
  table: PartitionedTable;
  partition: string;
  from: Date;
  to: Date;
  rows: number;
}

export interface RetentionGap {
  chainId: string;
  fromSeq: number;
  toSeq: number;
  rows: number;
}

export interface RetentionReport {
  dryRun: boolean;
  horizon: Date;
  /** The partitions dropped (or, with dryRun, that would be). */
  partitions: RetentionPartition[];
  rowsRemoved: number;
  rowsByTable: Partial<Record<PartitionedTable, number>>;
  /** The declared seq ranges, one per chain and contiguous run. */
  gaps: RetentionGap[];
  /** Rows older than the horizon kept because they sit in a DEFAULT partition. */
  keptInDefault: number;
  rowsVerified: number;
  /** The retention_runs row and the chain that holds it (null on a dry run or when nothing was due). */
  runId: string | null;
  runChainId: string | null;
  signedOffBy: string;
}

const DAY_MS = 86_400_000;
export const RETENTION_WRITER_NAME = "copilot-audit retention";

/** Drops the monthly partitions past the horizon; see the file comment. */
export async function applyRetention(store: Store, opts: RetentionOptions): Promise<RetentionReport> {
  if (!Number.isFinite(opts.olderThanMs) || opts.olderThanMs < DAY_MS)
    throw new QueryInvalidError("retention horizon: must be at least one day (e.g. 180d)");
  if (!opts.signedOffBy) throw new QueryInvalidError("retention: signedOffBy (who runs it) is required");
  const db = store.db;
  const now = new Date();
  const horizon = new Date(now.getTime() - opts.olderThanMs);
  const current = monthStart(now);
  const all = await listPartitions(db);
  const due = all.filter(
    (p): p is PartitionInfo & { from: Date; to: Date } =>
      p.from !== null && p.to !== null && p.to <= horizon && p.to <= current,
  );
  const keptInDefault = await countInDefault(
    db,
    all.filter((p) => p.from === null),
    horizon,
  );
  const report: RetentionReport = {
    dryRun: opts.dryRun === true,
    horizon,
    partitions: [],
    rowsRemoved: 0,
    rowsByTable: {},
    gaps: [],
    keptInDefault,
    rowsVerified: 0,
    runId: null,
    runChainId: null,
    signedOffBy: opts.signedOffBy,
  };
  if (due.length === 0) return report;
  const progress = opts.onProgress ?? (() => {});
  const verified = await store.verify({
    onProgress: (n) => progress({ step: "verify", done: n, total: null }),
  });
  report.rowsVerified = verified.totalRows;
  if (report.dryRun) {
    const plan = await planDrop(db, due, progress);
    refuseUnsafe(plan.gaps, verified);
    return { ...report, ...plan.summary };
  }
  return db.transaction().execute(async (trx) => {
    await sql`SELECT set_config('lock_timeout', ${`${opts.lockTimeoutMs ?? 10_000}ms`}, true)`.execute(trx);
    await sql`SELECT set_config('statement_timeout', '0', true)`.execute(trx);
    try {
      await sql`LOCK TABLE ${sql.join(due.map((p) => sql.table(p.partition)))} IN SHARE MODE`.execute(trx);
    } catch (err) {
      throw new RetentionRefusedError(
        `could not lock the partitions to drop within ${opts.lockTimeoutMs ?? 10_000} ms (long-running queries?); nothing was dropped: ${(err as Error).message}`,
        { cause: err },
      );
    }
    const plan = await planDrop(trx, due, progress);
    refuseUnsafe(plan.gaps, verified);
    const run = runRows(store, { ...opts, horizon, plan, verified, keptInDefault });
    for (const st of buildStatements(run.rows)) await trx.executeQuery(CompiledQuery.raw(st.text, st.params));
    let done = 0;
    for (const p of due) {
      progress({ step: "drop", done: done++, total: due.length });
      try {
        await sql`DROP TABLE ${sql.table(p.partition)}`.execute(trx);
      } catch (err) {
        if ((err as { code?: string }).code !== "55P03") throw err;
        throw new RetentionRefusedError(
          `could not lock ${p.table} to drop ${p.partition} within ${opts.lockTimeoutMs ?? 10_000} ms (long-running queries on it?); nothing was dropped: ${(err as Error).message}`,
          { cause: err },
        );
      }
    }
    progress({ step: "drop", done, total: due.length });
    return { ...report, ...plan.summary, runId: run.runId, runChainId: run.chainId };
  });
}

async function countInDefault(db: Kysely<Database>, defaults: PartitionInfo[], horizon: Date) {
  let n = 0;
  for (const p of defaults) {
    const r = await sql<{ n: string }>`SELECT count(*)::text AS n FROM ${sql.table(p.partition)}
      WHERE ${sql.ref(timeColumn(p.table))} < ${horizon}`.execute(db);
    n += Number(r.rows[0]?.n ?? 0);
  }
  return n;
}

interface GapRun extends RetentionGap {
  lastHash: string;
}

interface Plan {
  gaps: GapRun[];
  summary: Pick<RetentionReport, "partitions" | "rowsRemoved" | "rowsByTable" | "gaps">;
}

/** Row counts of the partitions, and the contiguous seq runs each chain loses with them. */
async function planDrop(
  db: Kysely<Database> | Transaction<Database>,
  due: Array<PartitionInfo & { from: Date; to: Date }>,
  progress: (p: RetentionProgress) => void,
): Promise<Plan> {
  const partitions: RetentionPartition[] = [];
  const rowsByTable: Partial<Record<PartitionedTable, number>> = {};
  for (const p of due) {
    progress({ step: "count", done: partitions.length, total: due.length });
    const r = await sql<{ n: string }>`SELECT count(*)::text AS n FROM ${sql.table(p.partition)}`.execute(db);
    const rows = Number(r.rows[0]?.n ?? 0);
    partitions.push({ table: p.table, partition: p.partition, from: p.from, to: p.to, rows });
    rowsByTable[p.table] = (rowsByTable[p.table] ?? 0) + rows;
  }
  progress({ step: "count", done: partitions.length, total: due.length });
  const union = sql.join(
    due.map((p) => sql`SELECT chain_id, seq, hash FROM ${sql.table(p.partition)}`),
    sql` UNION ALL `,
  );
  const res = await sql<{ chain_id: string; from_seq: string; to_seq: string; n: string; last_hash: string }>`
    WITH d AS (${union}),
    r AS (SELECT chain_id, seq, hash, seq - row_number() OVER (PARTITION BY chain_id ORDER BY seq) AS grp FROM d)
    SELECT chain_id, min(seq)::text AS from_seq, max(seq)::text AS to_seq, count(*)::text AS n,
           (array_agg(hash ORDER BY seq DESC))[1] AS last_hash
    FROM r GROUP BY chain_id, grp ORDER BY chain_id, min(seq)`.execute(db);
  const gaps = res.rows.map((g) => ({
    chainId: g.chain_id,
    fromSeq: Number(g.from_seq),
    toSeq: Number(g.to_seq),
    rows: Number(g.n),
    lastHash: g.last_hash,
  }));
  return {
    gaps,
    summary: {
      partitions,
      rowsRemoved: partitions.reduce((n, p) => n + p.rows, 0),
      rowsByTable,
      gaps: gaps.map(({ lastHash: _, ...g }) => g),
    },
  };
}

/** Refuses when dropping would destroy rows that do not verify, or rows verify has not seen. */
function refuseUnsafe(gaps: GapRun[], verified: VerifyReport): void {
  const byChain = new Map(verified.chains.map((c) => [c.chainId, c]));
  for (const g of gaps) {
    const c = byChain.get(g.chainId);
    if (g.rows !== g.toSeq - g.fromSeq + 1)
      throw new RetentionRefusedError(
        `chain ${g.chainId} has duplicate seqs in ${g.fromSeq}..${g.toSeq}: run \`copilot-audit verify\` and investigate before dropping anything`,
      );
    if (c?.problem && c.problem.seq <= g.toSeq)
      throw new RetentionRefusedError(
        `chain ${g.chainId} does not verify at seq ${c.problem.seq} (${c.problem.kind}: ${c.problem.message}); ` +
          "dropping its partitions would destroy the evidence: investigate with `copilot-audit verify` first",
      );
    if (!c || c.lastSeq === null || c.lastSeq < g.toSeq)
      throw new RetentionRefusedError(
        `rows of chain ${g.chainId} up to seq ${g.toSeq} were written after verification started (into months being dropped); nothing was dropped: run retention again`,
      );
  }
}

/** The retention run's own chain: genesis, signed gap declarations, the run row, a clean close. */
function runRows(
  store: Store,
  o: RetentionOptions & { horizon: Date; plan: Plan; verified: VerifyReport; keptInDefault: number },
): { rows: ChainedRow[]; runId: string; chainId: string } {
  const chain = new Chain(randomUUID());
  const runId = randomUUID();
  const at = new Date();
  const host = hostname();
  const pending: PendingRow[] = [
    {
      table: "chains",
      row: normalizeRow("chains", {
        writer_name: RETENTION_WRITER_NAME,
        host,
        pid: process.pid,
        started_at: at,
      }),
    },
  ];
  for (const g of o.plan.gaps) {
    const signature = gapSignature(store.fingerprint, {
      gapChainId: g.chainId,
      fromSeq: g.fromSeq,
      toSeq: g.toSeq,
      lastHash: g.lastHash,
      runId,
    });
    pending.push({
      table: "chain_gaps",
      row: normalizeRow("chain_gaps", {
        gap_chain_id: g.chainId,
        from_seq: g.fromSeq,
        to_seq: g.toSeq,
        last_hash: g.lastHash,
        reason: gapReason(runId, signature),
        declared_at: at,
      }),
    });
  }
  const parts = o.plan.summary.partitions;
  const heads: Record<string, { seq: number | null; hash: string | null; ok: boolean }> = {};
  for (const c of o.verified.chains) heads[c.chainId] = { seq: c.lastSeq, hash: c.lastHash, ok: c.ok };
  pending.push({
    table: "retention_runs",
    row: normalizeRow("retention_runs", {
      id: runId,
      run_at: at,
      signed_off_by: o.signedOffBy,
      host,
      older_than: o.olderThan,
      horizon: o.horizon,
      range_from: new Date(Math.min(...parts.map((p) => p.from.getTime()))),
      range_to: new Date(Math.max(...parts.map((p) => p.to.getTime()))),
      partitions: parts.map((p) => p.partition),
      rows_removed: o.plan.summary.rowsRemoved,
      rows_by_table: o.plan.summary.rowsByTable,
      gaps_declared: o.plan.gaps.length,
      rows_verified: o.verified.totalRows,
      chain_heads: heads,
      kept_in_default: o.keptInDefault,
      reason: o.reason ?? null,
    }),
  });
  pending.push({
    table: "chain_closes",
    row: normalizeRow("chain_closes", {
      closed_chain_id: chain.chainId,
      closed_at: at,
      reason: "clean",
      last_seq: 0,
      last_hash: "",
    }),
    fill: (seq, prevHash, row) => {
      row.last_seq = String(seq - 1);
      row.last_hash = prevHash;
    },
  });
  return { rows: pending.map((p) => chain.append(p)), runId, chainId: chain.chainId };
}
