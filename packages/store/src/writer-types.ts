import type { ApprovalEventRecord } from "./approval-events.js";
import type { BodyCapture } from "./body.js";
import type { RequestRecord, ResponseRecord, SessionClosedRecord, SessionOpenedRecord } from "./records.js";

export interface WriterOptions {
  /** Stable name of this writer (e.g. the hostname): recovery marks what this name's previous runs left open. */
  writerName: string;
  /** Default `<dataDir>/spool`. */
  spoolDir?: string;
  /** Rows per group commit (default 500). */
  maxBatchRows?: number;
  /** Extra wait to grow a batch while the previous commit was busy (default 0: no added latency). */
  maxBatchDelayMs?: number;
  /**
   * How long response and session rows may wait to share the next request's commit (default 25 ms). A
   * crash can lose at most this window of them; the exchanges concerned then show as incomplete.
   */
  lazyDelayMs?: number;
  /** How often to probe the database while spooling (default 1000 ms). */
  probeIntervalMs?: number;
  /** A commit that takes longer goes to the spool instead (default 5000 ms). */
  commitTimeoutMs?: number;
  /** Headers stored as fingerprints in addition to authorization, proxy-authorization, cookie, set-cookie. */
  sensitiveHeaders?: readonly string[];
  /** How often to make sure next month's partitions exist (default 6 h). */
  partitionCheckIntervalMs?: number;
  /**
   * Independent chains (each with its own serial group commit) that records are spread over, by exchange or
   * session id (default 1). Each commit of one chain waits for the previous one, so on PostgreSQL 2 lanes
   * roughly double ingest; every lane is an ordinary chain (own genesis, spool file and clean close).
   */
  lanes?: number;
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
  /** The first lane's chain (the only one with `lanes: 1`). */
  readonly chainId: string;
  /** Every lane's chain, in lane order. */
  readonly chainIds: readonly string[];
  readonly writerName: string;
  sessionOpened(r: SessionOpenedRecord): Promise<void>;
  sessionClosed(r: SessionClosedRecord): Promise<void>;
  /** Resolves when the request row is durable; rejects StoreUnavailableError when it cannot be. */
  requestStarted(r: RequestRecord): Promise<void>;
  responseFinished(r: ResponseRecord): Promise<void>;
  /** An approval request, reason, decision, expiry or revocation (resolves when durable). */
  approvalEvent(r: ApprovalEventRecord): Promise<void>;
  /** A capture for a streamed body, capped at the store's body cap. */
  captureBody(): BodyCapture;
  health(): WriterHealth;
  stats(): WriterStats;
  /** Resolves when what previous runs of this writer name left open has been marked (or failed to be). */
  readonly recovered: Promise<void>;
  /** Flushes everything, writes the chain's clean close row, stops timers. */
  close(): Promise<void>;
}
