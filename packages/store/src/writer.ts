import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import type { Backend } from "./backend.js";
import { BodyCapture } from "./body.js";
import { normalizeRow } from "./canonical.js";
import { Chain, type ChainedRow } from "./chain.js";
import { describeError } from "./db-errors.js";
import { StoreUnavailableError, WriterClosedError } from "./errors.js";
import { insertRows, prepareRow } from "./insert.js";
import { ensurePartitions } from "./migrations.js";
import type { RequestRecord, ResponseRecord, SessionClosedRecord, SessionOpenedRecord } from "./records.js";
import { findOpenWork, recoveryRows } from "./recovery.js";
import { SpoolReplayer } from "./replay.js";
import {
  type PendingRow,
  type RowContext,
  requestRows,
  responseRows,
  sessionClosedRows,
  sessionOpenedRows,
} from "./rows.js";
import { SpoolFile, spoolFileName } from "./spool.js";
import type { StoreLogger } from "./store-types.js";

// The audit writer: one per gateway process. Every record becomes rows of ONE hash chain (this writer's
// chain_id), committed by group commit: when nothing is committing a record commits at once; while a
// commit is in flight, new records collect into the next one (one multi-row statement, one transaction).
// A record's promise resolves only when its rows are durable: committed, or appended to the spool and
// fsynced while the database is unreachable. A background probe replays the spool when the database is back.

export interface WriterOptions {
  /** Stable name of this writer (e.g. the hostname): recovery marks what this name's previous runs left open. */
  writerName: string;
  /** Default `<dataDir>/spool`. */
  spoolDir?: string;
  /** Rows per group commit (default 500). */
  maxBatchRows?: number;
  /** Extra wait to grow a batch while the previous commit was busy (default 0: no added latency). */
  maxBatchDelayMs?: number;
  /** How often to probe the database while spooling (default 1000 ms). */
  probeIntervalMs?: number;
  /** A commit that takes longer goes to the spool instead (default 5000 ms). */
  commitTimeoutMs?: number;
  /** Headers stored as fingerprints in addition to authorization, proxy-authorization, cookie, set-cookie. */
  sensitiveHeaders?: readonly string[];
  /** How often to make sure next month's partitions exist (default 6 h). */
  partitionCheckIntervalMs?: number;
}

export interface WriterHealth {
  database: "up" | "down";
  /** Rows of this writer in its spool, not yet replayed. */
  spooledRows: number;
  /** Rows waiting for a commit. */
  queued: number;
  lastError: string | null;
}

/** Counters for tests and metrics. */
export interface WriterStats {
  /** Group commits that reached the database. */
  commits: number;
  committedRows: number;
  /** Group commits that went to the spool. */
  spoolAppends: number;
  spooledRowsTotal: number;
  replayedRows: number;
  /** Records refused because neither the database nor the spool took them. */
  refusedRecords: number;
}

export interface AuditWriter {
  readonly chainId: string;
  readonly writerName: string;
  sessionOpened(r: SessionOpenedRecord): Promise<void>;
  sessionClosed(r: SessionClosedRecord): Promise<void>;
  /** Resolves when the request row is durable; rejects StoreUnavailableError when it cannot be. */
  requestStarted(r: RequestRecord): Promise<void>;
  responseFinished(r: ResponseRecord): Promise<void>;
  /** A capture for a streamed body, capped at the store's body cap. */
  captureBody(): BodyCapture;
  health(): WriterHealth;
  stats(): WriterStats;
  /** Resolves when what previous runs of this writer name left open has been marked (or failed to be). */
  readonly recovered: Promise<void>;
  /** Flushes everything, writes the chain's clean close row, stops timers. */
  close(): Promise<void>;
}

interface Pending {
  rows: PendingRow[];
  /** The rows with their chain columns, assigned at enqueue (so hashing overlaps the commit in flight). */
  chained: ChainedRow[];
  /** Chain position before this entry's rows. */
  mark: { seq: number; hash: string };
  /** Internal rows (the chain's genesis) that must be retried, not dropped, when a batch can go nowhere. */
  survive: boolean;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** Chains of writers alive in this process (their spool files are not leftovers). */
const liveChains = new Set<string>();

export interface WriterDeps {
  backend: Backend;
  rowContext: Omit<RowContext, "sensitiveHeaders">;
  dataDir: string;
  logger: StoreLogger | undefined;
  onClosed?: (w: AuditWriter) => void;
}

export async function createAuditWriter(deps: WriterDeps, opts: WriterOptions): Promise<AuditWriter> {
  const w = new Writer(deps, opts);
  await w.start();
  return w;
}

class Writer implements AuditWriter {
  readonly chainId = randomUUID();
  readonly writerName: string;
  readonly recovered: Promise<void>;
  readonly #deps: WriterDeps;
  readonly #ctx: RowContext;
  readonly #chain: Chain;
  readonly #spool: SpoolReplayer;
  readonly #spoolDir: string;
  readonly #host = hostname();
  readonly #maxBatchRows: number;
  readonly #maxBatchDelayMs: number;
  readonly #commitTimeoutMs: number;
  readonly #tokenExchanges = new Set<string>();
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #opts: WriterOptions;
  #queue: Pending[] = [];
  #queuedRows = 0;
  #running = false;
  #mode: "db" | "spool" = "db";
  #replayWanted = false;
  #probing = false;
  #closed = false;
  #lastError: string | null = null;
  #resolveRecovered!: () => void;
  #recovery: Promise<void> | null = null;
  readonly #stats: WriterStats = {
    commits: 0,
    committedRows: 0,
    spoolAppends: 0,
    spooledRowsTotal: 0,
    replayedRows: 0,
    refusedRecords: 0,
  };

  constructor(deps: WriterDeps, opts: WriterOptions) {
    this.#deps = deps;
    this.#opts = opts;
    this.writerName = opts.writerName;
    const sensitive = new Set(["authorization", "proxy-authorization", "cookie", "set-cookie"]);
    for (const h of opts.sensitiveHeaders ?? []) sensitive.add(h.toLowerCase());
    this.#ctx = { ...deps.rowContext, sensitiveHeaders: sensitive };
    this.#chain = new Chain(this.chainId);
    this.#spoolDir = opts.spoolDir ?? `${deps.dataDir}/spool`;
    this.#spool = new SpoolReplayer(
      deps.backend,
      new SpoolFile(this.#spoolDir, spoolFileName(this.#host, process.pid, this.chainId)),
      deps.logger,
    );
    this.#maxBatchRows = Math.max(1, opts.maxBatchRows ?? 500);
    this.#maxBatchDelayMs = Math.max(0, opts.maxBatchDelayMs ?? 0);
    this.#commitTimeoutMs = Math.max(1, opts.commitTimeoutMs ?? 5_000);
    this.recovered = new Promise((resolve) => {
      this.#resolveRecovered = resolve;
    });
  }

  async start(): Promise<void> {
    liveChains.add(this.chainId);
    await ensurePartitions(this.#deps.backend).catch((err) =>
      this.#noteDbError(err, "partition check failed"),
    );
    if ((await this.#spool.scanLeftovers(this.#spoolDir, this.#host, liveChains)) > 0) {
      // A previous run's spool goes in first; if the database is down it stays queued for the probe.
      this.#enterSpoolMode(null);
      this.#replayWanted = true;
      await this.#drain();
    }
    // Register the chain: its genesis row (seq 0) goes first, and is retried until it is stored somewhere.
    const genesis: PendingRow = {
      table: "chains",
      row: normalizeRow("chains", {
        writer_name: this.writerName,
        host: this.#host,
        pid: process.pid,
        started_at: new Date(),
      }),
    };
    await this.#enqueue([genesis], true).catch((err) =>
      this.#deps.logger?.error(
        { err: describeError(err) },
        "chain registration not stored yet; it is retried",
      ),
    );
    const probeMs = Math.max(50, this.#opts.probeIntervalMs ?? 1_000);
    this.#timers.push(setInterval(() => void this.#probe(), probeMs).unref());
    const partMs = this.#opts.partitionCheckIntervalMs ?? 6 * 3600_000;
    this.#timers.push(
      setInterval(() => {
        ensurePartitions(this.#deps.backend).catch((err) => this.#noteDbError(err, "partition check failed"));
      }, partMs).unref(),
    );
    if (this.#mode === "db") this.#startRecovery();
    else void this.#probe();
  }

  sessionOpened(r: SessionOpenedRecord): Promise<void> {
    return this.#record(() => sessionOpenedRows(r, this.#ctx));
  }

  sessionClosed(r: SessionClosedRecord): Promise<void> {
    return this.#record(() => sessionClosedRows(r));
  }

  requestStarted(r: RequestRecord): Promise<void> {
    return this.#record(() => {
      const rows = requestRows(r, this.#ctx);
      if (r.endpointKind === "token") this.#tokenExchanges.add(r.id);
      return rows;
    });
  }

  responseFinished(r: ResponseRecord): Promise<void> {
    return this.#record(() => {
      const kind = r.endpointKind ?? (this.#tokenExchanges.has(r.exchangeId) ? "token" : undefined);
      this.#tokenExchanges.delete(r.exchangeId);
      return responseRows(r, kind, this.#ctx);
    });
  }

  captureBody(): BodyCapture {
    return new BodyCapture(this.#ctx.bodyCapBytes);
  }

  health(): WriterHealth {
    return {
      database: this.#mode === "db" ? "up" : "down",
      spooledRows: this.#spool.pendingRows,
      queued: this.#queuedRows,
      lastError: this.#lastError,
    };
  }

  stats(): WriterStats {
    return { ...this.#stats, replayedRows: this.#spool.replayedRows };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#recovery;
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    const close: PendingRow = {
      table: "chain_closes",
      row: normalizeRow("chain_closes", {
        closed_chain_id: this.chainId,
        closed_at: new Date(),
        reason: "clean",
        last_seq: 0,
        last_hash: "",
      }),
      fill: (seq, prevHash, row) => {
        row.last_seq = String(seq - 1);
        row.last_hash = prevHash;
      },
    };
    await this.#enqueue([close]).catch((err) =>
      this.#deps.logger?.error({ err: describeError(err) }, "could not record the chain's clean close"),
    );
    if (this.#mode === "spool") {
      // Last chance to drain the spool; whatever stays is replayed by the next writer on this host.
      try {
        await this.#deps.backend.ping();
        this.#replayWanted = true;
        await this.#drain();
      } catch {
        // still down
      }
    }
    await this.#spool.close().catch(() => {});
    liveChains.delete(this.chainId);
    this.#deps.onClosed?.(this);
  }

  // --- internals -------------------------------------------------------------------------------------

  #record(build: () => PendingRow[]): Promise<void> {
    if (this.#closed) return Promise.reject(new WriterClosedError());
    let rows: PendingRow[];
    try {
      rows = build();
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#enqueue(rows);
  }

  #enqueue(rows: PendingRow[], survive = false): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const mark = this.#chain.mark();
      const chained = rows.map((r) => prepareRow(this.#chain.append(r)));
      this.#queue.push({ rows, chained, mark, survive, resolve, reject });
      this.#queuedRows += rows.length;
      this.#kick();
    });
  }

  /**
   * A batch could be stored nowhere: its callers get StoreUnavailableError, and the chain is rewound to
   * before it, so what is still queued (plus any internal rows of the batch) is chained again without a hole.
   */
  #dropBatch(batch: Pending[], err: Error): void {
    const first = batch[0];
    if (!first) return;
    this.#chain.rewind(first.mark);
    const survivors = batch.filter((p) => p.survive);
    for (const p of batch) p.reject(err);
    for (const p of survivors) {
      // Its waiter was told; the rows themselves go back in front of the queue.
      p.resolve = () => {};
      p.reject = () => {};
      this.#queuedRows += p.rows.length;
    }
    const requeue = [...survivors, ...this.#queue];
    for (const p of requeue) {
      p.mark = this.#chain.mark();
      p.chained = p.rows.map((r) => prepareRow(this.#chain.append(r)));
    }
    this.#queue = requeue;
  }

  #kick(): void {
    if (!this.#running) void this.#drain();
  }

  /** Runs commits and replay steps until there is nothing to do. Only one drain runs at a time. */
  async #drain(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      let busy = false;
      for (;;) {
        let did = false;
        if (this.#queue.length > 0) {
          if (busy && this.#maxBatchDelayMs > 0 && this.#queuedRows < this.#maxBatchRows) {
            await sleep(this.#maxBatchDelayMs);
          }
          await this.#commitNext();
          did = true;
        }
        if (this.#replayWanted && this.#mode === "spool") {
          await this.#replayStep();
          did = true;
        }
        if (!did) break;
        busy = true;
      }
    } finally {
      this.#running = false;
    }
  }

  #takeBatch(): Pending[] {
    const batch: Pending[] = [];
    let n = 0;
    while (this.#queue.length > 0) {
      const next = this.#queue[0] as Pending;
      if (batch.length > 0 && n + next.rows.length > this.#maxBatchRows) break;
      this.#queue.shift();
      batch.push(next);
      n += next.rows.length;
    }
    this.#queuedRows -= n;
    return batch;
  }

  async #commitNext(): Promise<void> {
    const batch = this.#takeBatch();
    const rows: ChainedRow[] = [];
    for (const p of batch) for (const r of p.chained) rows.push(r);
    if (rows.length === 0) {
      for (const p of batch) p.resolve();
      return;
    }
    if (this.#mode === "db") {
      try {
        await this.#withTimeout(this.#deps.backend.session((s) => insertRows(s, rows)));
        this.#stats.commits++;
        this.#stats.committedRows += rows.length;
        for (const p of batch) p.resolve();
        return;
      } catch (err) {
        this.#enterSpoolMode(err);
      }
    }
    try {
      await this.#spool.append(rows);
      this.#stats.spoolAppends++;
      this.#stats.spooledRowsTotal += rows.length;
      for (const p of batch) p.resolve();
    } catch (err) {
      this.#stats.refusedRecords += batch.filter((p) => !p.survive).length;
      const why =
        `the audit record could not be stored: the database is unreachable (${this.#lastError ?? "unknown error"}) ` +
        `and the local spool ${this.#spool.ownPath} cannot be written (${describeError(err)})`;
      this.#deps.logger?.error({ spool: this.#spool.ownPath, err: describeError(err) }, "spool write failed");
      this.#dropBatch(batch, new StoreUnavailableError(why, { cause: err }));
    }
  }

  async #withTimeout<T>(p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`commit timed out after ${this.#commitTimeoutMs} ms`)),
        this.#commitTimeoutMs,
      );
    });
    try {
      return await Promise.race([p, timeout]);
    } finally {
      clearTimeout(timer);
      p.catch(() => {});
    }
  }

  #noteDbError(err: unknown, msg: string): void {
    this.#lastError = describeError(err);
    this.#deps.logger?.warn({ err: this.#lastError }, msg);
  }

  #enterSpoolMode(err: unknown): void {
    if (err !== null) this.#noteDbError(err, "database write failed; spooling audit rows locally");
    this.#mode = "spool";
    this.#replayWanted = false;
  }

  async #probe(): Promise<void> {
    if (this.#mode !== "spool" || this.#replayWanted || this.#probing || this.#closed) return;
    this.#probing = true;
    try {
      await this.#deps.backend.ping();
      this.#replayWanted = true;
      this.#kick();
    } catch (err) {
      this.#lastError = describeError(err);
    } finally {
      this.#probing = false;
    }
  }

  async #replayStep(): Promise<void> {
    try {
      const done = await this.#spool.step(this.#maxBatchRows);
      if (!done) return;
      this.#mode = "db";
      this.#replayWanted = false;
      this.#lastError = null;
      this.#deps.logger?.info(
        { replayed: this.#spool.replayedRows },
        "database reachable again; spool replayed",
      );
      this.#startRecovery();
    } catch (err) {
      this.#replayWanted = false;
      this.#noteDbError(err, "spool replay failed; will retry");
    }
  }

  #startRecovery(): void {
    if (this.#recovery || this.#closed) return;
    this.#recovery = this.#recover().finally(() => this.#resolveRecovered());
  }

  async #recover(): Promise<void> {
    try {
      const open = await findOpenWork(this.#deps.backend.db, {
        writerName: this.writerName,
        ownChainId: this.chainId,
        host: this.#host,
        liveChains,
      });
      for (const chain of open) {
        await this.#enqueue(recoveryRows(chain, new Date()));
        this.#deps.logger?.warn(
          {
            chain: chain.chainId,
            exchanges: chain.openExchanges.length,
            sessions: chain.openSessions.length,
          },
          "marked what a previous run left open as incomplete",
        );
      }
    } catch (err) {
      this.#deps.logger?.error({ err: describeError(err) }, "recovery of a previous run failed");
    }
  }
}
