import type { Backend } from "./backend.js";
import { GENESIS_HASH, rowHash } from "./canonical.js";
import { AUDIT_TABLES, TABLES } from "./columns.js";
import type { Fingerprinter } from "./fingerprint.js";
import { gapSigned } from "./gaps.js";
import type { AuditTable } from "./schema.js";
import { type FetchedRow, listChains, TableCursor } from "./verify-read.js";

// Chain verification: every chain is recomputed in seq order across all audit tables. The first problem of
// each chain is reported: a hash that does not match the row, a prev_hash that does not match the previous
// row, a missing seq (deleted row), a duplicate seq (fork), a missing genesis, or rows cut from / added after
// a recorded close.
//
// Extension point for retention: a row in `chain_gaps` (gap_chain_id, from_seq, to_seq, last_hash) declares
// that seq range [from_seq, to_seq] of a chain was removed on purpose; verify then skips exactly that range
// and resumes with prev_hash = last_hash (the hash of row to_seq). The declaration is a chained row of the
// declaring writer's chain and is honoured only if that row itself verifies (checked after all chains are
// verified, so a chain may declare a gap in itself) and only if it is signed with the deployment's
// fingerprint key (gaps.ts): a chain anyone could start cannot excuse a hole. Retention (retention.ts) writes
// them; consecutive declarations (one per retention run) are followed one after the other, and a declaration
// may also cover the end of a chain (every row after the genesis dropped).

export type ChainProblemKind =
  | "hash_mismatch"
  | "prev_hash_mismatch"
  | "missing_seq"
  | "duplicate_seq"
  | "missing_genesis"
  | "truncated_tail"
  | "rows_after_close";

export interface ChainProblem {
  chainId: string;
  seq: number;
  table: AuditTable | null;
  /** The row's id column (exchanges.id, exchange_responses.exchange_id, sessions.id, …). */
  rowId: string | null;
  kind: ChainProblemKind;
  message: string;
}

/** A declared, signed removal that verify passed over. */
export interface DeclaredGap {
  fromSeq: number;
  toSeq: number;
  /** The retention run that declared it (`retention_runs.id`). */
  runId: string | null;
  /** The declaration's own row (chain_gaps). */
  declaredBy: { chainId: string; seq: number };
}

export interface ChainReport {
  chainId: string;
  writerName: string | null;
  /** Rows checked (from `since` on, when given). */
  rows: number;
  firstSeq: number | null;
  lastSeq: number | null;
  /** Hash of the row at lastSeq (the chain head as verified). */
  lastHash: string | null;
  rowsByTable: Partial<Record<AuditTable, number>>;
  /** Declared removals (retention) this chain was verified across. */
  gaps: DeclaredGap[];
  closed: "clean" | "recovered" | null;
  ok: boolean;
  problem: ChainProblem | null;
}

export interface VerifyReport {
  ok: boolean;
  chains: ChainReport[];
  totalRows: number;
  /** The first problem found, in chain order. */
  firstProblem: ChainProblem | null;
}

export interface VerifyOptions {
  /** Verify only rows from this time on (each chain from its first row at or after `since`). */
  since?: Date;
  /** Rows fetched per table and page (default 1000). */
  pageSize?: number;
  /** Called with the number of rows checked so far, every few thousand rows and at the end. */
  onProgress?: (rowsChecked: number) => void;
}

/** Recomputes every chain; see the file comment. */
export async function verifyChains(
  backend: Backend,
  fp: Fingerprinter,
  opts: VerifyOptions = {},
): Promise<VerifyReport> {
  const pageSize = Math.max(10, opts.pageSize ?? 1000);
  const chains = await listChains(backend, opts.since);
  const reports: ChainReport[] = [];
  const used: UsedGap[] = [];
  const progress = { rows: 0, report: opts.onProgress };
  for (const [chainId, start] of chains) {
    const { report, usedGaps } = await verifyChain(backend, fp, chainId, start, pageSize, progress);
    reports.push(report);
    used.push(...usedGaps);
  }
  progress.report?.(progress.rows);
  for (const g of untrustedGaps(reports, used)) {
    const r = reports.find((x) => x.chainId === g.chainId);
    if (!r || (r.problem && r.problem.seq <= g.fromSeq)) continue;
    r.ok = false;
    r.problem = {
      chainId: g.chainId,
      seq: g.fromSeq,
      table: null,
      rowId: null,
      kind: "missing_seq",
      message: `seq ${g.fromSeq}..${g.toSeq} missing; the gap declaration (chain ${g.declChain} seq ${g.declSeq}) does not verify`,
    };
  }
  const firstProblem = reports.find((r) => r.problem)?.problem ?? null;
  return {
    ok: firstProblem === null,
    chains: reports,
    totalRows: reports.reduce((n, r) => n + r.rows, 0),
    firstProblem,
  };
}

interface UsedGap {
  chainId: string;
  fromSeq: number;
  toSeq: number;
  declChain: string;
  declSeq: number;
}

/** A gap declaration counts only if its own (chained) row verified, or lies before what this run checked. */
function untrustedGaps(reports: ChainReport[], used: UsedGap[]): UsedGap[] {
  const byId = new Map(reports.map((r) => [r.chainId, r]));
  return used.filter((g) => {
    const decl = byId.get(g.declChain);
    if (!decl || decl.firstSeq === null) return true;
    if (g.declSeq < decl.firstSeq) return false;
    if (decl.lastSeq === null || g.declSeq > decl.lastSeq) return true;
    return decl.problem !== null && decl.problem.seq <= g.declSeq;
  });
}

interface GapDecl {
  from: number;
  to: number;
  lastHash: string;
  runId: string | null;
  declChain: string;
  declSeq: number;
}

/**
 * Follows signed declarations from seq `from`: with `limit`, they must end exactly at `limit` (the seq before
 * the next row present); without, as far as they go (the end of the chain). Prefers the longest declaration
 * that fits at each step.
 */
function bridge(gaps: Map<number, GapDecl[]>, from: number, limit: number | null): GapDecl[] | null {
  const used: GapDecl[] = [];
  let cur = from;
  for (;;) {
    const g = (gaps.get(cur) ?? []).find((c) => limit === null || c.to <= limit);
    if (!g) break;
    used.push(g);
    cur = g.to + 1;
    if (limit !== null && g.to === limit) return used;
  }
  return limit === null && used.length > 0 ? used : null;
}

async function verifyChain(
  backend: Backend,
  fp: Fingerprinter,
  chainId: string,
  start: number,
  pageSize: number,
  progress: { rows: number; report: ((rows: number) => void) | undefined },
): Promise<{ report: ChainReport; usedGaps: UsedGap[] }> {
  const meta = await backend.session(async (s) => ({
    writer: await s.query<{ writer_name: string }>("SELECT writer_name FROM chains WHERE chain_id = $1", [
      chainId,
    ]),
    closes: await s.query<{
      reason: "clean" | "recovered";
      last_seq: string;
      last_hash: string;
      chain_id: string;
    }>(
      "SELECT reason, last_seq, last_hash, chain_id FROM chain_closes WHERE closed_chain_id = $1 ORDER BY reason",
      [chainId],
    ),
    gaps: await s.query<{
      from_seq: string;
      to_seq: string;
      last_hash: string;
      reason: string;
      chain_id: string;
      seq: string;
    }>("SELECT from_seq, to_seq, last_hash, reason, chain_id, seq FROM chain_gaps WHERE gap_chain_id = $1", [
      chainId,
    ]),
  }));
  const gaps = new Map<number, GapDecl[]>();
  const unsigned = new Set<number>();
  for (const g of meta.gaps) {
    const from = Number(g.from_seq);
    const check = gapSigned(fp, {
      gapChainId: chainId,
      fromSeq: g.from_seq,
      toSeq: g.to_seq,
      lastHash: g.last_hash,
      reason: g.reason,
    });
    if (!check.signed) {
      unsigned.add(from);
      continue;
    }
    const list = gaps.get(from) ?? [];
    list.push({
      from,
      to: Number(g.to_seq),
      lastHash: g.last_hash,
      runId: check.runId,
      declChain: g.chain_id,
      declSeq: Number(g.seq),
    });
    list.sort((a, b) => b.to - a.to);
    gaps.set(from, list);
  }
  const usedGaps: UsedGap[] = [];
  const report: ChainReport = {
    chainId,
    writerName: meta.writer[0]?.writer_name ?? null,
    rows: 0,
    firstSeq: null,
    lastSeq: null,
    lastHash: null,
    rowsByTable: {},
    gaps: [],
    closed: meta.closes[0]?.reason ?? null,
    ok: true,
    problem: null,
  };
  const fail = (kind: ChainProblemKind, seq: number, r: FetchedRow | null, message: string) => {
    if (report.problem) return;
    const spec = r ? TABLES[r.table] : null;
    report.problem = {
      chainId,
      seq,
      table: r?.table ?? null,
      rowId: r && spec ? String(r.row[spec.idColumn]) : null,
      kind,
      message,
    };
    report.ok = false;
  };
  if (start === 0 && meta.writer.length === 0)
    fail("missing_genesis", 0, null, "the chain has no row in chains (seq 0)");
  const cursors = AUDIT_TABLES.map((t) => new TableCursor(t, chainId, start, pageSize, backend));
  let expected = start;
  let prevHash: string | null = start === 0 ? GENESIS_HASH : null;
  let lastRow: FetchedRow | null = null;
  const closeHashes = new Map(meta.closes.map((c) => [Number(c.last_seq), ""]));
  const useGaps = (chain: GapDecl[]) => {
    for (const g of chain) {
      usedGaps.push({
        chainId,
        fromSeq: g.from,
        toSeq: g.to,
        declChain: g.declChain,
        declSeq: g.declSeq,
      });
      report.gaps.push({
        fromSeq: g.from,
        toSeq: g.to,
        runId: g.runId,
        declaredBy: { chainId: g.declChain, seq: g.declSeq },
      });
      if (closeHashes.has(g.to)) closeHashes.set(g.to, g.lastHash);
    }
    return (chain.at(-1) as GapDecl).lastHash;
  };
  for (;;) {
    let best: TableCursor | null = null;
    let bestRow: FetchedRow | null = null;
    for (const c of cursors) {
      const h = await c.head();
      if (h && (!bestRow || h.seq < bestRow.seq)) {
        best = c;
        bestRow = h;
      }
    }
    if (!best || !bestRow) break;
    best.shift();
    const r = bestRow;
    report.rows++;
    report.rowsByTable[r.table] = (report.rowsByTable[r.table] ?? 0) + 1;
    report.firstSeq ??= r.seq;
    report.lastSeq = r.seq;
    report.lastHash = String(r.row.hash);
    progress.rows++;
    if (progress.rows % 5000 === 0) progress.report?.(progress.rows);
    if (report.problem) continue;
    if (lastRow && r.seq === lastRow.seq) {
      fail(
        "duplicate_seq",
        r.seq,
        r,
        `two rows have seq ${r.seq} (${lastRow.table} and ${r.table}): the chain forks`,
      );
      continue;
    }
    if (r.seq > expected) {
      const chain = bridge(gaps, expected, r.seq - 1);
      if (chain) {
        prevHash = useGaps(chain);
      } else {
        fail(
          "missing_seq",
          expected,
          r,
          `seq ${expected}${r.seq - 1 > expected ? `..${r.seq - 1}` : ""} missing before this row` +
            (unsigned.has(expected)
              ? " (a gap declaration exists but is not signed with this deployment's fingerprint key)"
              : ""),
        );
        continue;
      }
    }
    const storedPrev = String(r.row.prev_hash);
    if (prevHash !== null && storedPrev !== prevHash) {
      fail("prev_hash_mismatch", r.seq, r, "prev_hash does not match the hash of the previous row");
      continue;
    }
    if (rowHash(r.table, storedPrev, r.row) !== String(r.row.hash)) {
      fail("hash_mismatch", r.seq, r, "the row's content does not match its hash: it was altered");
      continue;
    }
    prevHash = String(r.row.hash);
    if (closeHashes.has(r.seq)) closeHashes.set(r.seq, prevHash);
    expected = r.seq + 1;
    lastRow = r;
  }
  // Declared removals at the end of the chain (every row after them dropped).
  let end = report.lastSeq;
  if (!report.problem && lastRow) {
    const tail = bridge(gaps, expected, null);
    if (tail) {
      useGaps(tail);
      end = (tail.at(-1) as GapDecl).to;
    }
  }
  for (const c of meta.closes) {
    const lastSeq = Number(c.last_seq);
    if (
      c.reason === "clean" &&
      c.chain_id === chainId &&
      report.lastSeq !== null &&
      report.lastSeq > lastSeq + 1
    ) {
      fail(
        "rows_after_close",
        lastSeq + 2,
        null,
        `rows follow the chain's clean close at seq ${lastSeq + 1}`,
      );
    }
    if (end === null || end < lastSeq) {
      fail(
        "truncated_tail",
        (end ?? -1) + 1,
        null,
        `the chain was closed at seq ${lastSeq} but ends at ${end}`,
      );
    } else if (lastSeq >= 0 && closeHashes.get(lastSeq) !== c.last_hash && closeHashes.get(lastSeq) !== "") {
      fail("hash_mismatch", lastSeq, null, `row ${lastSeq} does not have the hash its chain close recorded`);
    }
  }
  return { report, usedGaps };
}
