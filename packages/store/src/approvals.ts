import { hostname } from "node:os";
import type { ApprovalActor } from "./approval-events.js";
import { getRequests, latestPerSubject, listRequests, tableVersion } from "./approvals-read.js";
import { ApprovalRepository } from "./approvals-repo.js";
import type { ApprovalEvent, Approvals, ApprovalsStatus } from "./approvals-types.js";
import { ApprovalView } from "./approvals-view.js";
import { describeError } from "./db-errors.js";
import { ConfigInvalidError } from "./errors.js";
import type { Store } from "./store.js";
import type { StoreLogger } from "./store-types.js";
import type { AuditWriter } from "./writer-types.js";

export interface ApprovalsOptions {
  store: Store;
  /** Audit rows of approvals go into this writer's chain. */
  writer: AuditWriter;
  /**
   * PostgreSQL: the store's URL, for the dedicated LISTEN connection that brings other replicas' decisions
   * within milliseconds. Without it (and on PGlite) the view polls every `pollIntervalMs`.
   */
  databaseUrl?: string | null | undefined;
  /** Keep the in-memory view (gateways). `false` for one-off commands: no timers, no connection. Default true. */
  watch?: boolean;
  /** Polling interval (PGlite; PostgreSQL while LISTEN is down). Default 1000 ms. */
  pollIntervalMs?: number;
  /** Full reload of the view as a safety net. Default 60 s. */
  resyncIntervalMs?: number;
  /** How often elapsed grants are marked `expired` (with their audit row). Default 5000 ms; 0 = never. */
  expirySweepMs?: number;
  /** Actor recorded for expiries. Default `gateway:<hostname>`. */
  systemActor?: string;
  /** Called after each change this process made, once its audit row is durable (webhooks, logs). */
  onEvent?: (e: ApprovalEvent) => void;
  logger?: StoreLogger | undefined;
}

/** Opens the approvals repository (and, with `watch`, its in-memory view). See `Approvals`. */
export async function openApprovals(opts: ApprovalsOptions): Promise<Approvals> {
  const watch = opts.watch ?? true;
  const pollMs = opts.pollIntervalMs ?? 1_000;
  const sweepMs = opts.expirySweepMs ?? 5_000;
  if (!Number.isFinite(pollMs) || pollMs < 10) throw new ConfigInvalidError("pollIntervalMs: at least 10");
  if (!Number.isFinite(sweepMs) || sweepMs < 0) throw new ConfigInvalidError("expirySweepMs: 0 or more");
  const listenUrl =
    opts.store.kind === "pg" && opts.databaseUrl && /^postgres(ql)?:\/\//i.test(opts.databaseUrl)
      ? opts.databaseUrl
      : null;
  const logger = opts.logger;
  let view: ApprovalView | null = null;
  const systemActor: ApprovalActor = {
    kind: "system",
    name: opts.systemActor ?? `gateway:${hostname()}`,
  };
  const repo = new ApprovalRepository({
    db: opts.store.db,
    audit: (r) => opts.writer.approvalEvent(r),
    systemActor,
    changed(row, event) {
      view?.apply(row);
      if (event && opts.onEvent) {
        try {
          opts.onEvent(event);
        } catch (err) {
          logger?.warn({ err: describeError(err) }, "approvals: event listener failed");
        }
      }
    },
  });
  const timers: NodeJS.Timeout[] = [];
  if (watch) {
    const db = opts.store.db;
    view = new ApprovalView({
      source: {
        latestPerSubject: () => latestPerSubject(db),
        getMany: (ids) => getRequests(db, ids),
        version: () => tableVersion(db),
      },
      listenUrl,
      pollMs,
      resyncMs: opts.resyncIntervalMs ?? 60_000,
      logger,
    });
    await view.start();
    if (sweepMs > 0) {
      let sweeping = false;
      timers.push(
        setInterval(() => {
          if (sweeping) return;
          sweeping = true;
          repo
            .sweepExpired()
            .catch((err) => logger?.warn({ err: describeError(err) }, "approvals: expiry sweep failed"))
            .finally(() => {
              sweeping = false;
            });
        }, sweepMs).unref(),
      );
    }
  }
  return {
    lookup: (issuer, subject) => view?.lookup(issuer, subject),
    request: (requester, ropts) => repo.request(requester, ropts),
    grant: (id, actor, gopts) => repo.grant(id, actor, gopts),
    deny: (id, actor, dopts) => repo.deny(id, actor, dopts),
    revoke: (id, actor, ropts) => repo.revoke(id, actor, ropts),
    get: (id) => repo.get(id),
    list: (filter) => listRequests(opts.store.db, filter),
    sweepExpired: (now) => repo.sweepExpired(now),
    refresh: () => view?.reload() ?? Promise.resolve(),
    status(): ApprovalsStatus {
      if (!view) return { mode: "off", connected: false, subjects: 0, lastRefreshAt: null, lastError: null };
      return view.status();
    },
    async close() {
      for (const t of timers) clearInterval(t);
      await view?.close();
    },
  };
}
