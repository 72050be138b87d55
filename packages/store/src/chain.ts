import { GENESIS_HASH, rowHash } from "./canonical.js";
import type { Row } from "./columns.js";
import type { PendingRow } from "./rows.js";
import type { AuditTable } from "./schema.js";

/** A row with its chain columns filled: ready for the database or the spool. */
export interface ChainedRow {
  readonly table: AuditTable;
  readonly row: Row;
}

/**
 * One writer's hash chain. Rows are chained in commit order; a batch that could be stored nowhere is
 * rolled back with `rewind` so the chain never has a hole.
 */
export class Chain {
  readonly chainId: string;
  #seq = -1;
  #prevHash = GENESIS_HASH;

  constructor(chainId: string) {
    this.chainId = chainId;
  }

  get lastSeq(): number {
    return this.#seq;
  }

  get lastHash(): string {
    return this.#prevHash;
  }

  mark(): { seq: number; hash: string } {
    return { seq: this.#seq, hash: this.#prevHash };
  }

  rewind(to: { seq: number; hash: string }): void {
    this.#seq = to.seq;
    this.#prevHash = to.hash;
  }

  append(p: PendingRow): ChainedRow {
    const seq = this.#seq + 1;
    const row: Row = { ...p.row };
    p.fill?.(seq, this.#prevHash, row);
    row.chain_id = this.chainId;
    row.seq = String(seq);
    row.prev_hash = this.#prevHash;
    const hash = rowHash(p.table, this.#prevHash, row, p.knownHashes);
    row.hash = hash;
    this.#seq = seq;
    this.#prevHash = hash;
    return { table: p.table, row };
  }
}
