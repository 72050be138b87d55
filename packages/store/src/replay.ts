import { rm } from "node:fs/promises";
import type { Backend } from "./backend.js";
import type { ChainedRow } from "./chain.js";
import { insertRows } from "./insert.js";
import { isProcessAlive } from "./pglite-lock.js";
import { listSpoolFiles, readSpoolChunk, type SpoolFile } from "./spool.js";

// Spool bookkeeping for one writer: its own spool file (rows appended while the database is down) and
// leftover files of dead writers on this host. Replay inserts rows in file order with ON CONFLICT DO
// NOTHING, so replaying a file twice (e.g. after a crash mid-replay) stores every row once.

export interface ReplayLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export class SpoolReplayer {
  readonly #backend: Backend;
  readonly #own: SpoolFile;
  readonly #logger: ReplayLogger | undefined;
  #ownOffset = 0;
  #ownRows = 0;
  #leftovers: Array<{ path: string; offset: number }> = [];
  replayedRows = 0;

  constructor(backend: Backend, own: SpoolFile, logger: ReplayLogger | undefined) {
    this.#backend = backend;
    this.#own = own;
    this.#logger = logger;
  }

  /** Rows of this writer waiting in its spool file. */
  get pendingRows(): number {
    return this.#ownRows;
  }

  get hasWork(): boolean {
    return this.#ownRows > 0 || this.#leftovers.length > 0;
  }

  get ownPath(): string {
    return this.#own.path;
  }

  async append(rows: readonly ChainedRow[]): Promise<void> {
    await this.#own.append(rows);
    this.#ownRows += rows.length;
  }

  /**
   * Finds spool files of dead writers on this host (or of closed writers of this process that are not in
   * `liveChains`) in `dir`, to be replayed before this writer's own rows.
   */
  async scanLeftovers(dir: string, host: string, liveChains: ReadonlySet<string>): Promise<number> {
    const known = new Set(this.#leftovers.map((l) => l.path));
    for (const f of await listSpoolFiles(dir)) {
      if (f.path === this.#own.path || known.has(f.path) || f.host !== host) continue;
      const dead = f.pid === process.pid ? !liveChains.has(f.chainId) : !isProcessAlive(f.pid);
      if (dead) this.#leftovers.push({ path: f.path, offset: 0 });
    }
    return this.#leftovers.length;
  }

  /**
   * Replays up to `maxRows` rows. Returns true when everything (leftovers and own file) is replayed and
   * the own file emptied. Throws when the database fails (nothing is lost: the offset does not advance).
   */
  async step(maxRows: number): Promise<boolean> {
    const left = this.#leftovers[0];
    if (left) {
      const chunk = await readSpoolChunk(left.path, left.offset, maxRows);
      this.#reportCorrupt(left.path, chunk.corrupt);
      if (chunk.rows.length > 0) await this.#backend.session((s) => insertRows(s, chunk.rows));
      this.replayedRows += chunk.rows.length;
      left.offset = chunk.nextOffset;
      if (chunk.eof) {
        await rm(left.path, { force: true });
        this.#leftovers.shift();
      }
      return false;
    }
    if (this.#ownRows === 0) return true;
    const chunk = await readSpoolChunk(this.#own.path, this.#ownOffset, maxRows);
    this.#reportCorrupt(this.#own.path, chunk.corrupt);
    if (chunk.rows.length > 0) await this.#backend.session((s) => insertRows(s, chunk.rows));
    this.replayedRows += chunk.rows.length;
    this.#ownOffset = chunk.nextOffset;
    if (!chunk.eof) return false;
    await this.#own.clear();
    this.#ownOffset = 0;
    this.#ownRows = 0;
    return true;
  }

  #reportCorrupt(path: string, n: number): void {
    if (n > 0)
      this.#logger?.error({ spool: path, lines: n }, "spool lines could not be decoded and were skipped");
  }

  async close(): Promise<void> {
    await this.#own.close();
  }
}
