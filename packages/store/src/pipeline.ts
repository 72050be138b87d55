import { setTimeout as sleep } from "node:timers/promises";
import type { Backend } from "./backend.js";
import type { Chain, ChainedRow } from "./chain.js";
import { describeError } from "./db-errors.js";
import { StoreUnavailableError } from "./errors.js";
import { insertRows, prepareRow } from "./insert.js";
import type { SpoolReplayer } from "./replay.js";
import type { PendingRow } from "./rows.js";
import type { StoreLogger } from "./store-types.js";
import type { WriterStats } from "./writer-types.js";

// The commit pipeline behind a writer: group commit into the database, the spool while the database is
// unreachable, and replay when it is back.
//
// Rows are chained (seq, prev_hash, hash) and serialised when queued, so that work overlaps the commit in
// flight. When nothing is committing, a record commits at once; while a commit is in flight, records
// collect into the next one. One commit at a time keeps the chain's rows in order in the spool. A batch
// that neither the database nor the spool takes is refused (StoreUnavailableError) and the chain rewound to
// before it; everything queued behind it is chained again, so the chain never has a hole.

interface Pending {
  rows: PendingRow[];
  chained: ChainedRow[];
  /** Chain position before this entry's rows. */
  mark: { seq: number; hash: string };
  /** Internal rows (the chain's genesis) that must be retried, not dropped, when a batch can go nowhere. */
  survive: boolean;
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface PipelineOptions {
  maxBatchRows: number;
  maxBatchDelayMs: number;
  commitTimeoutMs: number;
  /**
   * How long rows nobody waits on (responses, session rows) may wait for the next urgent commit to carry
   * them, instead of a commit of their own. At low concurrency this halves the commits, and a request never
   * queues behind the previous exchange's response commit.
   */
  lazyDelayMs: number;
}

export class CommitPipeline {
  readonly #backend: Backend;
  readonly #chain: Chain;
  readonly #spool: SpoolReplayer;
  readonly #logger: StoreLogger | undefined;
  readonly #opts: PipelineOptions;
  /** Called once the database took everything back after an outage (and at start when it is up). */
  readonly #onDatabaseBack: () => void;
  #queue: Pending[] = [];
  #queuedRows = 0;
  #running = false;
  #lazyTimer: NodeJS.Timeout | null = null;
  #replayWanted = false;
  #probing = false;
  mode: "db" | "spool" = "db";
  lastError: string | null = null;
  stopped = false;
  readonly stats: WriterStats = {
    commits: 0,
    committedRows: 0,
    spoolAppends: 0,
    spooledRowsTotal: 0,
    replayedRows: 0,
    refusedRecords: 0,
  };

  constructor(
    deps: {
      backend: Backend;
      chain: Chain;
      spool: SpoolReplayer;
      logger: StoreLogger | undefined;
      onDatabaseBack: () => void;
    },
    opts: PipelineOptions,
  ) {
    this.#backend = deps.backend;
    this.#chain = deps.chain;
    this.#spool = deps.spool;
    this.#logger = deps.logger;
    this.#onDatabaseBack = deps.onDatabaseBack;
    this.#opts = opts;
  }

  get queuedRows(): number {
    return this.#queuedRows;
  }

  /**
   * Chains and queues rows; resolves when they are durable. `urgent` rows (a request about to be forwarded)
   * commit at once; others may wait up to `lazyDelayMs` to share the next commit.
   */
  enqueue(rows: PendingRow[], opts: { survive?: boolean; urgent?: boolean } = {}): Promise<void> {
    const urgent = opts.urgent ?? true;
    return new Promise<void>((resolve, reject) => {
      const mark = this.#chain.mark();
      const chained = rows.map((r) => prepareRow(this.#chain.append(r)));
      this.#queue.push({ rows, chained, mark, survive: opts.survive ?? false, resolve, reject });
      this.#queuedRows += rows.length;
      if (this.#running) return;
      if (urgent || this.stopped || this.#opts.lazyDelayMs <= 0) {
        this.#clearLazyTimer();
        void this.drain();
      } else if (!this.#lazyTimer) {
        this.#lazyTimer = setTimeout(() => {
          this.#lazyTimer = null;
          void this.drain();
        }, this.#opts.lazyDelayMs);
      }
    });
  }

  #clearLazyTimer(): void {
    if (this.#lazyTimer) clearTimeout(this.#lazyTimer);
    this.#lazyTimer = null;
  }

  noteDbError(err: unknown, msg: string): void {
    this.lastError = describeError(err);
    this.#logger?.warn({ err: this.lastError }, msg);
  }

  enterSpoolMode(err: unknown): void {
    if (err !== null) this.noteDbError(err, "database write failed; spooling audit rows locally");
    this.mode = "spool";
    this.#replayWanted = false;
  }

  /** Replays the spool (leftovers first) as soon as the loop is free. */
  requestReplay(): Promise<void> {
    this.#replayWanted = true;
    return this.drain();
  }

  /** While spooling: checks whether the database answers again, and if so starts the replay. */
  async probe(): Promise<void> {
    if (this.mode !== "spool" || this.#replayWanted || this.#probing || this.stopped) return;
    this.#probing = true;
    try {
      await this.#backend.ping();
      void this.requestReplay();
    } catch (err) {
      this.lastError = describeError(err);
    } finally {
      this.#probing = false;
    }
  }

  /** Runs commits and replay steps until there is nothing to do. Only one drain runs at a time. */
  async drain(): Promise<void> {
    if (this.#running) return;
    this.#clearLazyTimer();
    this.#running = true;
    try {
      let busy = false;
      for (;;) {
        let did = false;
        if (this.#queue.length > 0) {
          if (busy && this.#opts.maxBatchDelayMs > 0 && this.#queuedRows < this.#opts.maxBatchRows) {
            await sleep(this.#opts.maxBatchDelayMs);
          }
          await this.#commitNext();
          did = true;
        }
        if (this.#replayWanted && this.mode === "spool") {
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
      if (batch.length > 0 && n + next.rows.length > this.#opts.maxBatchRows) break;
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
    if (this.mode === "db") {
      try {
        await this.#withTimeout(this.#backend.session((s) => insertRows(s, rows)));
        this.stats.commits++;
        this.stats.committedRows += rows.length;
        for (const p of batch) p.resolve();
        return;
      } catch (err) {
        this.enterSpoolMode(err);
      }
    }
    try {
      await this.#spool.append(rows);
      this.stats.spoolAppends++;
      this.stats.spooledRowsTotal += rows.length;
      for (const p of batch) p.resolve();
    } catch (err) {
      this.stats.refusedRecords += batch.filter((p) => !p.survive).length;
      const why =
        `the audit record could not be stored: the database is unreachable (${this.lastError ?? "unknown error"}) ` +
        `and the local spool ${this.#spool.ownPath} cannot be written (${describeError(err)})`;
      this.#logger?.error({ spool: this.#spool.ownPath, err: describeError(err) }, "spool write failed");
      this.#dropBatch(batch, new StoreUnavailableError(why, { cause: err }));
    }
  }

  /** Refuses a batch that could be stored nowhere; rewinds the chain and chains the queue again. */
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

  async #withTimeout<T>(p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`commit timed out after ${this.#opts.commitTimeoutMs} ms`)),
        this.#opts.commitTimeoutMs,
      );
    });
    try {
      return await Promise.race([p, timeout]);
    } finally {
      clearTimeout(timer);
      p.catch(() => {});
    }
  }

  async #replayStep(): Promise<void> {
    try {
      const done = await this.#spool.step(this.#opts.maxBatchRows);
      if (!done) return;
      this.mode = "db";
      this.#replayWanted = false;
      this.lastError = null;
      this.#logger?.info({ replayed: this.#spool.replayedRows }, "database reachable again; spool replayed");
      this.#onDatabaseBack();
    } catch (err) {
      this.#replayWanted = false;
      this.noteDbError(err, "spool replay failed; will retry");
    }
  }
}
