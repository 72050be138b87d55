import pg from "pg";
import type { ApprovalRequest, ApprovalsStatus } from "./approvals-types.js";
import { describeError } from "./db-errors.js";
import type { StoreLogger } from "./store-types.js";

// The in-memory view of approvals that the gateway consults on every exchange (no database round trip): the
// latest request of each subject. It learns about changes
//   * made by this process at once (the repository calls apply()),
//   * made by other replicas through PostgreSQL LISTEN/NOTIFY on a dedicated connection (the table's trigger
//     notifies `copilot_audit_approvals` with the request id; the view fetches those rows),
//   * otherwise by polling: PGlite (one process owns the database anyway), or PostgreSQL while the LISTEN
//     connection is down. A full reload also runs every `resyncMs` as a safety net.
// Refreshes are serialised; rows carry change_seq, so an older snapshot never replaces a newer one.

export const APPROVALS_CHANNEL = "copilot_audit_approvals";

export interface ViewSource {
  latestPerSubject(): Promise<ApprovalRequest[]>;
  getMany(ids: readonly string[]): Promise<ApprovalRequest[]>;
  version(): Promise<string>;
}

export interface ViewOptions {
  source: ViewSource;
  /** PostgreSQL URL for LISTEN; null → poll. */
  listenUrl: string | null;
  pollMs: number;
  resyncMs: number;
  logger: StoreLogger | undefined;
}

function newer(a: ApprovalRequest, b: ApprovalRequest): boolean {
  if (a.id === b.id) return BigInt(a.changeSeq) >= BigInt(b.changeSeq);
  const t = a.requestedAt.getTime() - b.requestedAt.getTime();
  return t !== 0 ? t > 0 : a.id > b.id;
}

export class ApprovalView {
  readonly #o: ViewOptions;
  #byIssuer = new Map<string, Map<string, ApprovalRequest>>();
  #subjects = 0;
  /** Changes applied while a full reload is in flight, re-applied on top of its snapshot. */
  #during: Array<ApprovalRequest | { deleted: string }> | null = null;
  #queue: Promise<void> = Promise.resolve();
  #pendingIds = new Set<string>();
  #client: pg.Client | null = null;
  #connected = false;
  #closed = false;
  #timers: NodeJS.Timeout[] = [];
  #reconnectTimer: NodeJS.Timeout | null = null;
  #backoffMs = 250;
  #version = "";
  lastRefreshAt: Date | null = null;
  lastError: string | null = null;

  constructor(o: ViewOptions) {
    this.#o = o;
  }

  async start(): Promise<void> {
    await this.reload();
    if (this.#o.listenUrl) await this.#connect().catch(() => this.#scheduleReconnect());
    this.#timers.push(setInterval(() => void this.#poll(), this.#o.pollMs).unref());
    this.#timers.push(setInterval(() => void this.reload().catch(() => undefined), this.#o.resyncMs).unref());
  }

  lookup(issuer: string, subject: string): ApprovalRequest | undefined {
    return this.#byIssuer.get(issuer)?.get(subject);
  }

  /** A change: a row as it is now, or a row that no longer exists. */
  apply(change: ApprovalRequest | { deleted: string }): void {
    this.#during?.push(change);
    if ("deleted" in change) {
      for (const m of this.#byIssuer.values())
        for (const [subject, r] of m)
          if (r.id === change.deleted) {
            m.delete(subject);
            this.#subjects--;
          }
      return;
    }
    let m = this.#byIssuer.get(change.issuer);
    if (!m) {
      m = new Map();
      this.#byIssuer.set(change.issuer, m);
    }
    const cur = m.get(change.subject);
    if (cur && !newer(change, cur)) return;
    if (!cur) this.#subjects++;
    m.set(change.subject, change);
  }

  /** Replaces the view with a fresh snapshot (serialised with the other refreshes). */
  reload(): Promise<void> {
    return this.#serial(async () => {
      this.#during = [];
      try {
        const rows = await this.#o.source.latestPerSubject();
        const during = this.#during;
        this.#during = null;
        this.#byIssuer = new Map();
        this.#subjects = 0;
        for (const r of rows) this.apply(r);
        for (const c of during) this.apply(c);
        this.lastRefreshAt = new Date();
        this.lastError = null;
      } catch (err) {
        this.lastError = describeError(err);
        throw err;
      } finally {
        this.#during = null;
      }
    });
  }

  status(): Omit<ApprovalsStatus, "mode"> & { mode: "listen" | "poll" } {
    return {
      mode: this.#o.listenUrl ? "listen" : "poll",
      connected: this.#connected,
      subjects: this.#subjects,
      lastRefreshAt: this.lastRefreshAt,
      lastError: this.lastError,
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    const c = this.#client;
    this.#client = null;
    this.#connected = false;
    await c?.end().catch(() => undefined);
    await this.#queue.catch(() => undefined);
  }

  #serial(fn: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Polls when nothing pushes changes: PGlite, or PostgreSQL while LISTEN is down. */
  async #poll(): Promise<void> {
    if (this.#closed || (this.#o.listenUrl && this.#connected)) return;
    try {
      const v = await this.#o.source.version();
      if (v !== this.#version) {
        await this.reload();
        this.#version = v;
      }
    } catch (err) {
      this.lastError = describeError(err);
    }
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.#o.listenUrl as string,
      application_name: "copilot-audit-approvals",
      keepAlive: true,
      connectionTimeoutMillis: 5_000,
    });
    client.on("notification", (n) => {
      if (n.channel === APPROVALS_CHANNEL && n.payload) this.#fetchSoon(n.payload);
    });
    const lost = (err?: Error) => {
      if (this.#client !== client) return;
      this.#client = null;
      this.#connected = false;
      this.lastError = err ? describeError(err) : "LISTEN connection ended";
      this.#o.logger?.warn(
        { err: this.lastError },
        "approvals: LISTEN connection lost; polling until it is back",
      );
      client.end().catch(() => undefined);
      this.#scheduleReconnect();
    };
    client.on("error", lost);
    client.on("end", () => lost());
    this.#client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${APPROVALS_CHANNEL}`);
    } catch (err) {
      this.#client = null;
      client.removeAllListeners("end");
      client.on("error", () => undefined);
      await client.end().catch(() => undefined);
      this.lastError = describeError(err);
      throw err;
    }
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#connected = true;
    this.#backoffMs = 250;
    // Whatever changed while not listening.
    await this.reload().catch(() => undefined);
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#reconnectTimer) return;
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(30_000, this.#backoffMs * 2);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = null;
      this.#connect().catch(() => this.#scheduleReconnect());
    }, delay);
    this.#reconnectTimer.unref();
  }

  /** Notified ids are fetched in batches, one batch at a time. */
  #fetchSoon(id: string): void {
    const first = this.#pendingIds.size === 0;
    this.#pendingIds.add(id);
    if (!first) return;
    void this.#serial(async () => {
      const ids = [...this.#pendingIds];
      this.#pendingIds.clear();
      try {
        const rows = await this.#o.source.getMany(ids);
        const found = new Set(rows.map((r) => r.id));
        for (const r of rows) this.apply(r);
        for (const id of ids) if (!found.has(id)) this.apply({ deleted: id });
        this.lastRefreshAt = new Date();
      } catch (err) {
        // Catch up with a full reload a little later.
        this.lastError = describeError(err);
        setTimeout(() => void this.reload().catch(() => undefined), 1_000).unref();
      }
    });
  }
}
