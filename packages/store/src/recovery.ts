import { type Kysely, sql } from "kysely";
import { normalizeRow } from "./canonical.js";
import { AUDIT_TABLES } from "./columns.js";
import { isProcessAlive } from "./pglite-lock.js";
import type { PendingRow } from "./rows.js";
import type { Database } from "./schema.js";

// Crash recovery at writer start. A SIGKILLed gateway leaves exchanges without a response row and sessions
// without an end row. The next writer with the same name appends, in its own chain: an `incomplete` response
// for each such exchange, a `gateway_restart` end for each such session, and a `recovered` chain_closes row
// recording the dead chain's last seq and hash (so verify notices rows cut from its tail).

export interface OpenChain {
  chainId: string;
  lastSeq: string;
  lastHash: string;
  openExchanges: Array<{ id: string }>;
  openSessions: Array<{ id: string; exchangeCount: number }>;
}

/**
 * Chains of `writerName` that ended without a close row, excluding this writer, writers alive in this
 * process, and writers alive on this host (a misconfigured duplicate name must not be marked dead).
 */
export async function findOpenWork(
  db: Kysely<Database>,
  me: { writerName: string; ownChainId: string; host: string; liveChains: ReadonlySet<string> },
): Promise<OpenChain[]> {
  const chains = await db
    .selectFrom("chains")
    .select(["chain_id", "host", "pid"])
    .where("writer_name", "=", me.writerName)
    .where("chain_id", "!=", me.ownChainId)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom("chain_closes")
            .select(sql`1`.as("one"))
            .whereRef("chain_closes.closed_chain_id", "=", "chains.chain_id"),
        ),
      ),
    )
    .execute();
  const out: OpenChain[] = [];
  for (const c of chains) {
    if (me.liveChains.has(c.chain_id)) continue;
    if (c.host === me.host && c.pid !== process.pid && isProcessAlive(c.pid)) continue;
    out.push(await openWorkOf(db, c.chain_id));
  }
  return out;
}

async function openWorkOf(db: Kysely<Database>, chainId: string): Promise<OpenChain> {
  const exchanges = await db
    .selectFrom("exchanges as e")
    .select("e.id")
    .where("e.chain_id", "=", chainId)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom("exchange_responses as r")
            .select(sql`1`.as("one"))
            .whereRef("r.exchange_id", "=", "e.id"),
        ),
      ),
    )
    .orderBy("e.seq")
    .execute();
  const sessions = await db
    .selectFrom("sessions as s")
    .select((eb) => [
      "s.id",
      eb
        .selectFrom("exchanges as x")
        .select(eb.fn.countAll<string>().as("n"))
        .whereRef("x.session_id", "=", "s.id")
        .as("exchange_count"),
    ])
    .where("s.chain_id", "=", chainId)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom("session_ends as x").select(sql`1`.as("one")).whereRef("x.session_id", "=", "s.id"),
        ),
      ),
    )
    .orderBy("s.seq")
    .execute();
  let lastSeq = -1n;
  let lastHash = "";
  for (const table of AUDIT_TABLES) {
    const row = await db
      .selectFrom(table)
      .select(["seq", "hash"])
      .where("chain_id", "=", chainId)
      .orderBy("seq", "desc")
      .limit(1)
      .executeTakeFirst();
    if (row && BigInt(row.seq) > lastSeq) {
      lastSeq = BigInt(row.seq);
      lastHash = row.hash;
    }
  }
  return {
    chainId,
    lastSeq: lastSeq.toString(),
    lastHash,
    openExchanges: exchanges.map((e) => ({ id: e.id })),
    openSessions: sessions.map((s) => ({ id: s.id, exchangeCount: Number(s.exchange_count ?? 0) })),
  };
}

/** The rows that close one dead chain's open work. */
export function recoveryRows(chain: OpenChain, now: Date): PendingRow[] {
  const rows: PendingRow[] = [];
  for (const e of chain.openExchanges) {
    rows.push({
      table: "exchange_responses",
      row: normalizeRow("exchange_responses", {
        exchange_id: e.id,
        responded_at: null,
        ended_at: now,
        status: null,
        headers: null,
        body_size: 0,
        body_sha256: EMPTY_SHA256,
        body_truncated: false,
        outcome: "incomplete",
        error_code: "gateway_restart",
        error_details: `the gateway stopped before this exchange ended (chain ${chain.chainId}); recorded at the next start`,
      }),
    });
  }
  for (const s of chain.openSessions) {
    rows.push({
      table: "session_ends",
      row: normalizeRow("session_ends", {
        session_id: s.id,
        closed_at: now,
        bytes_from_client: 0,
        bytes_to_client: 0,
        close_reason: "gateway_restart",
        exchange_count: s.exchangeCount,
      }),
    });
  }
  rows.push({
    table: "chain_closes",
    row: normalizeRow("chain_closes", {
      closed_chain_id: chain.chainId,
      closed_at: now,
      reason: "recovered",
      last_seq: chain.lastSeq,
      last_hash: chain.lastHash || "0".repeat(64),
    }),
  });
  return rows;
}

const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
