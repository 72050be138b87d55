import { type Kysely, type SqlBool, sql } from "kysely";
import { whereClause } from "./reports.js";
import type { Database } from "./schema.js";

// `copilot-audit sessions tail`: new exchanges as they are recorded, by polling the audit_exchanges view.
//
// There is no global commit order across writers (each replica has its own chain, group commits, spool
// replay), so a request recorded now may carry a slightly older requested_at than one already shown. Each
// poll therefore re-reads a look-back window before the newest requested_at seen and skips ids already
// shown. Exchanges shown without a response are re-read by id until their response arrives. A row that
// commits more than the look-back window late (replayed from a spool after an outage) is not shown: use
// `sessions list`/the views for history.

export interface TailFilter {
  /** Show exchanges from this time on first (default: the last `initial` exchanges). */
  since?: Date | undefined;
  /** How many recent exchanges to show at start when `since` is not given (default 10). */
  initial?: number | undefined;
  user?: string | undefined;
  host?: string | undefined;
  /** How far back each poll looks for late commits (default 60 s). */
  lookBackMs?: number | undefined;
}

export interface TailExchange {
  exchangeId: string;
  sessionId: string | null;
  requestedAt: Date;
  endedAt: Date | null;
  userSubject: string | null;
  userEmail: string | null;
  clientAddress: string | null;
  method: string;
  host: string;
  path: string;
  endpointKind: string;
  model: string | null;
  clientRequestId: string | null;
  status: number | null;
  outcome: string | null;
  durationMs: number | null;
  findings: number;
  /** The first 200 characters of the prompt and completion. */
  promptExcerpt: string | null;
  completionExcerpt: string | null;
}

export interface TailEvent {
  /** "request": the exchange was recorded; "response": it ended (both at once when it ended before it was seen). */
  event: "request" | "response";
  exchange: TailExchange;
}

interface Row {
  exchange_id: string;
  session_id: string | null;
  requested_at: Date;
  ended_at: Date | null;
  user_subject: string | null;
  user_email: string | null;
  client_address: string | null;
  method: string;
  host: string;
  path: string;
  endpoint_kind: string;
  model: string | null;
  client_request_id: string | null;
  status: number | null;
  outcome: string | null;
  duration_ms: number | null;
  findings_count: string;
  prompt_excerpt: string | null;
  completion_excerpt: string | null;
}

const COLUMNS = sql`exchange_id, session_id, requested_at, ended_at, user_subject, user_email, client_address, method,
  host, path, endpoint_kind, model, client_request_id, status, outcome, duration_ms, findings_count,
  left(prompt_text, 200) AS prompt_excerpt, left(completion_text, 200) AS completion_excerpt`;

const PENDING_MAX_AGE_MS = 24 * 3600_000;

function toExchange(r: Row): TailExchange {
  return {
    exchangeId: r.exchange_id,
    sessionId: r.session_id,
    requestedAt: new Date(r.requested_at),
    endedAt: r.ended_at ? new Date(r.ended_at) : null,
    userSubject: r.user_subject,
    userEmail: r.user_email,
    clientAddress: r.client_address,
    method: r.method,
    host: r.host,
    path: r.path,
    endpointKind: r.endpoint_kind,
    model: r.model,
    clientRequestId: r.client_request_id,
    status: r.status,
    outcome: r.outcome,
    durationMs: r.duration_ms,
    findings: Number(r.findings_count ?? 0),
    promptExcerpt: r.prompt_excerpt,
    completionExcerpt: r.completion_excerpt,
  };
}

/** Polls for new exchanges; each `poll()` returns what appeared or ended since the previous one. */
export class ExchangeTail {
  readonly #db: Kysely<Database>;
  readonly #filter: TailFilter;
  readonly #lookBackMs: number;
  /** Shown exchanges (id → requested_at ms), pruned behind the look-back window. */
  readonly #seen = new Map<string, number>();
  /** Shown without a response yet (id → requested_at ms). */
  readonly #pending = new Map<string, number>();
  #cursor: number | null = null;

  constructor(db: Kysely<Database>, filter: TailFilter = {}) {
    this.#db = db;
    this.#filter = filter;
    this.#lookBackMs = Math.max(0, filter.lookBackMs ?? 60_000);
  }

  async poll(): Promise<TailEvent[]> {
    const events: TailEvent[] = [];
    const conds: ReturnType<typeof sql<SqlBool>>[] = [];
    const f = this.#filter;
    if (f.user)
      conds.push(sql<SqlBool>`(user_subject = ${f.user} OR lower(user_email) = ${f.user.toLowerCase()})`);
    if (f.host) conds.push(sql<SqlBool>`host = ${f.host}`);
    let rows: Row[];
    if (this.#cursor === null && !f.since) {
      const res = await sql<Row>`SELECT ${COLUMNS} FROM audit_exchanges ${whereClause(conds)}
        ORDER BY requested_at DESC, exchange_id DESC LIMIT ${Math.max(0, f.initial ?? 10)}`.execute(this.#db);
      rows = res.rows.reverse();
      await this.#start(rows, conds);
    } else {
      const from = this.#cursor === null ? (f.since as Date) : new Date(this.#cursor - this.#lookBackMs);
      const res = await sql<Row>`SELECT ${COLUMNS} FROM audit_exchanges
        ${whereClause([...conds, sql<SqlBool>`requested_at >= ${from}`])}
        ORDER BY requested_at, exchange_id`.execute(this.#db);
      rows = res.rows;
    }
    if (this.#cursor === null) this.#cursor = (f.since as Date).getTime();
    for (const r of rows) {
      const x = toExchange(r);
      const at = x.requestedAt.getTime();
      this.#cursor = Math.max(this.#cursor ?? 0, at);
      if (!this.#seen.has(x.exchangeId)) {
        this.#seen.set(x.exchangeId, at);
        events.push({ event: "request", exchange: x });
        if (x.endedAt) events.push({ event: "response", exchange: x });
        else this.#pending.set(x.exchangeId, at);
      } else if (x.endedAt && this.#pending.delete(x.exchangeId)) {
        events.push({ event: "response", exchange: x });
      }
    }
    events.push(...(await this.#ended()));
    this.#prune();
    return events;
  }

  /**
   * Without `since`: the cursor starts at the newest exchange (or the database's clock), and what else lies in
   * the look-back window before it counts as already seen, so the next poll does not show it as new.
   */
  async #start(shown: Row[], conds: ReturnType<typeof sql<SqlBool>>[]): Promise<void> {
    const newest = shown.at(-1);
    const start = newest
      ? new Date(newest.requested_at).getTime()
      : new Date(
          (await sql<{ now: Date }>`SELECT now() AS now`.execute(this.#db)).rows[0]?.now ?? Date.now(),
        ).getTime();
    this.#cursor = start;
    const shownIds = new Set(shown.map((r) => r.exchange_id));
    const res = await sql<{ exchange_id: string; requested_at: Date }>`SELECT exchange_id, requested_at
      FROM audit_exchanges ${whereClause([...conds, sql<SqlBool>`requested_at >= ${new Date(start - this.#lookBackMs)}`])}`.execute(
      this.#db,
    );
    for (const r of res.rows)
      if (!shownIds.has(r.exchange_id)) this.#seen.set(r.exchange_id, new Date(r.requested_at).getTime());
  }

  /** Responses of exchanges shown earlier, looked up by id. */
  async #ended(): Promise<TailEvent[]> {
    if (this.#pending.size === 0) return [];
    const out: TailEvent[] = [];
    const ids = [...this.#pending.keys()];
    for (let i = 0; i < ids.length; i += 500) {
      const res = await sql<Row>`SELECT ${COLUMNS} FROM audit_exchanges
        WHERE exchange_id IN (${sql.join(ids.slice(i, i + 500))}) AND ended_at IS NOT NULL
        ORDER BY ended_at, exchange_id`.execute(this.#db);
      for (const r of res.rows) {
        if (!this.#pending.delete(r.exchange_id)) continue;
        out.push({ event: "response", exchange: toExchange(r) });
      }
    }
    return out;
  }

  #prune(): void {
    const cursor = this.#cursor ?? 0;
    for (const [id, at] of this.#seen)
      if (at < cursor - 2 * this.#lookBackMs && !this.#pending.has(id)) this.#seen.delete(id);
    for (const [id, at] of this.#pending) if (at < cursor - PENDING_MAX_AGE_MS) this.#pending.delete(id);
  }
}
