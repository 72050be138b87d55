import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { type ApprovalEventRecord, approvalEventRows } from "./approval-events.js";
import type { Backend } from "./backend.js";
import { BodyCapture } from "./body.js";
import { normalizeRow } from "./canonical.js";
import { Chain } from "./chain.js";
import { describeError } from "./db-errors.js";
import { WriterClosedError } from "./errors.js";
import { ensurePartitions } from "./migrations.js";
import { CommitPipeline } from "./pipeline.js";
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
import type { AuditWriter, WriterHealth, WriterOptions, WriterStats } from "./writer-types.js";

// The audit writer: one per gateway process. Every record becomes rows of ONE hash chain (this writer's
// chain_id), stored by the commit pipeline (group commit; spool while the database is unreachable). A
// record's promise resolves only when its rows are durable: committed, or appended to the spool and fsynced.
// At start the writer replays spool files left by dead writers on this host, registers its chain (seq 0),
// and marks what previous runs of its writer name left open (recovery.ts).

/** Chains of writers alive in this process (their spool files are not leftovers, their chains not dead). */
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

interface Lane {
  chainId: string;
  spool: SpoolReplayer;
  pipeline: CommitPipeline;
}

/** Lane of a record: by the last 8 hex digits of its exchange or session id (a uuid). */
function laneIndex(id: string, lanes: number): number {
  if (lanes === 1) return 0;
  const n = Number.parseInt(id.slice(-8), 16);
  return Number.isFinite(n) ? n % lanes : 0;
}

class Writer implements AuditWriter {
  readonly chainId: string;
  readonly chainIds: readonly string[];
  readonly writerName: string;
  readonly recovered: Promise<void>;
  readonly #deps: WriterDeps;
  readonly #opts: WriterOptions;
  readonly #ctx: RowContext;
  readonly #spoolDir: string;
  readonly #host = hostname();
  readonly #lanes: Lane[];
  readonly #tokenExchanges = new Set<string>();
  readonly #timers: NodeJS.Timeout[] = [];
  #closed = false;
  #resolveRecovered!: () => void;
  #recovery: Promise<void> | null = null;

  constructor(deps: WriterDeps, opts: WriterOptions) {
    this.#deps = deps;
    this.#opts = opts;
    this.writerName = opts.writerName;
    const sensitive = new Set(["authorization", "proxy-authorization", "cookie", "set-cookie"]);
    for (const h of opts.sensitiveHeaders ?? []) sensitive.add(h.toLowerCase());
    this.#ctx = { ...deps.rowContext, sensitiveHeaders: sensitive };
    this.#spoolDir = opts.spoolDir ?? `${deps.dataDir}/spool`;
    const pipelineOpts = {
      maxBatchRows: Math.max(1, opts.maxBatchRows ?? 500),
      maxBatchDelayMs: Math.max(0, opts.maxBatchDelayMs ?? 0),
      commitTimeoutMs: Math.max(1, opts.commitTimeoutMs ?? 5_000),
      lazyDelayMs: Math.max(0, opts.lazyDelayMs ?? 25),
    };
    this.#lanes = Array.from({ length: Math.max(1, Math.min(16, Math.floor(opts.lanes ?? 1))) }, (_, i) => {
      const chainId = randomUUID();
      const spool = new SpoolReplayer(
        deps.backend,
        new SpoolFile(this.#spoolDir, spoolFileName(this.#host, process.pid, chainId)),
        deps.logger,
      );
      const pipeline = new CommitPipeline(
        {
          backend: deps.backend,
          chain: new Chain(chainId),
          spool,
          logger: deps.logger,
          // Lane 0 replays dead writers' spools, so recovery waits for it.
          onDatabaseBack: i === 0 ? () => this.#startRecovery() : () => {},
        },
        pipelineOpts,
      );
      return { chainId, spool, pipeline };
    });
    this.chainIds = this.#lanes.map((l) => l.chainId);
    this.chainId = this.chainIds[0] as string;
    this.recovered = new Promise((resolve) => {
      this.#resolveRecovered = resolve;
    });
  }

  async start(): Promise<void> {
    const first = this.#lanes[0] as Lane;
    for (const l of this.#lanes) liveChains.add(l.chainId);
    await ensurePartitions(this.#deps.backend).catch((err) =>
      first.pipeline.noteDbError(err, "partition check failed"),
    );
    if ((await first.spool.scanLeftovers(this.#spoolDir, this.#host, liveChains)) > 0) {
      // A previous run's spool goes in first; if the database is down it stays queued for the probe.
      first.pipeline.enterSpoolMode(null);
      await first.pipeline.requestReplay();
    }
    // Register each lane's chain: its genesis row (seq 0) goes first, and is retried until stored somewhere.
    await Promise.all(
      this.#lanes.map((l) =>
        l.pipeline
          .enqueue(
            [
              {
                table: "chains",
                row: normalizeRow("chains", {
                  writer_name: this.writerName,
                  host: this.#host,
                  pid: process.pid,
                  started_at: new Date(),
                }),
              },
            ],
            { survive: true },
          )
          .catch((err) =>
            this.#deps.logger?.error(
              { err: describeError(err) },
              "chain registration not stored yet; it is retried",
            ),
          ),
      ),
    );
    const probeMs = Math.max(50, this.#opts.probeIntervalMs ?? 1_000);
    this.#timers.push(
      setInterval(() => this.#lanes.forEach((l) => void l.pipeline.probe()), probeMs).unref(),
    );
    const partMs = this.#opts.partitionCheckIntervalMs ?? 6 * 3600_000;
    this.#timers.push(
      setInterval(() => {
        ensurePartitions(this.#deps.backend).catch((err) =>
          first.pipeline.noteDbError(err, "partition check failed"),
        );
      }, partMs).unref(),
    );
    if (first.pipeline.mode === "db") this.#startRecovery();
    else void first.pipeline.probe();
  }

  // Session and response rows are "lazy": nobody waits on them, so they ride along with the next request's
  // commit (or commit after lazyDelayMs). Only a request, about to be forwarded, forces a commit at once.
  sessionOpened(r: SessionOpenedRecord): Promise<void> {
    return this.#record(r.id, () => sessionOpenedRows(r, this.#ctx), false);
  }

  sessionClosed(r: SessionClosedRecord): Promise<void> {
    return this.#record(r.sessionId, () => sessionClosedRows(r), false);
  }

  requestStarted(r: RequestRecord): Promise<void> {
    return this.#record(r.id, () => {
      const rows = requestRows(r, this.#ctx);
      if (r.endpointKind === "token") this.#tokenExchanges.add(r.id);
      return rows;
    });
  }

  responseFinished(r: ResponseRecord): Promise<void> {
    return this.#record(
      r.exchangeId,
      () => {
        const kind = r.endpointKind ?? (this.#tokenExchanges.has(r.exchangeId) ? "token" : undefined);
        this.#tokenExchanges.delete(r.exchangeId);
        return responseRows(r, kind, this.#ctx);
      },
      false,
    );
  }

  /** Approval events commit at once: the caller (a decision, a new request) waits for them. */
  approvalEvent(r: ApprovalEventRecord): Promise<void> {
    return this.#record(r.requestId, () => approvalEventRows(r));
  }

  captureBody(): BodyCapture {
    return new BodyCapture(this.#ctx.bodyCapBytes);
  }

  health(): WriterHealth {
    const lanes = this.#lanes;
    return {
      database: lanes.every((l) => l.pipeline.mode === "db") ? "up" : "down",
      spooledRows: lanes.reduce((n, l) => n + l.spool.pendingRows, 0),
      queued: lanes.reduce((n, l) => n + l.pipeline.queuedRows, 0),
      lastError: lanes.find((l) => l.pipeline.lastError !== null)?.pipeline.lastError ?? null,
    };
  }

  stats(): WriterStats {
    const total: WriterStats = {
      commits: 0,
      committedRows: 0,
      spoolAppends: 0,
      spooledRowsTotal: 0,
      replayedRows: 0,
      refusedRecords: 0,
    };
    for (const l of this.#lanes) {
      const s = { ...l.pipeline.stats, replayedRows: l.spool.replayedRows };
      for (const k of Object.keys(total) as Array<keyof WriterStats>) total[k] += s[k];
    }
    return total;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#recovery;
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    await Promise.all(this.#lanes.map((l) => this.#closeLane(l)));
    for (const l of this.#lanes) liveChains.delete(l.chainId);
    this.#deps.onClosed?.(this);
  }

  async #closeLane(l: Lane): Promise<void> {
    l.pipeline.stopped = true;
    const close: PendingRow = {
      table: "chain_closes",
      row: normalizeRow("chain_closes", {
        closed_chain_id: l.chainId,
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
    await l.pipeline
      .enqueue([close])
      .catch((err) =>
        this.#deps.logger?.error({ err: describeError(err) }, "could not record the chain's clean close"),
      );
    if (l.pipeline.mode === "spool") {
      // Last chance to drain the spool; whatever stays is replayed by the next writer on this host.
      try {
        await this.#deps.backend.ping();
        await l.pipeline.requestReplay();
      } catch {
        // still down
      }
    }
    await l.spool.close().catch(() => {});
  }

  #record(key: string, build: () => PendingRow[], urgent = true): Promise<void> {
    if (this.#closed) return Promise.reject(new WriterClosedError());
    let rows: PendingRow[];
    try {
      rows = build();
    } catch (err) {
      return Promise.reject(err);
    }
    return (this.#lanes[laneIndex(key, this.#lanes.length)] as Lane).pipeline.enqueue(rows, { urgent });
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
        await (this.#lanes[0] as Lane).pipeline.enqueue(recoveryRows(chain, new Date()));
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
