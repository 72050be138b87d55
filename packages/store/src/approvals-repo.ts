import { type Kysely, sql, type Transaction } from "kysely";
import { type ApprovalActor, type ApprovalEventRecord, capText } from "./approval-events.js";
import { newApprovalId, normalizeApprovalId } from "./approval-ids.js";
import { type ApprovalRow, getRequest, toRequest } from "./approvals-read.js";
import type { ApprovalEvent, ApprovalRequest, ApprovalRequester } from "./approvals-types.js";
import {
  ApprovalConflictError,
  ApprovalNotFoundError,
  RecordInvalidError,
  SelfApprovalError,
} from "./errors.js";
import type { ApprovalEventKind, Database } from "./schema.js";

// The approval requests in the database. Decisions are serialised per subject by a transaction-scoped
// advisory lock, so "one pending request per subject" and "no new request while a grant is live" hold across
// replicas. After each change commits, its audit row (approval_events, hash-chained) is written through the
// AuditWriter and awaited; if that fails the change is undone, so nothing takes effect without its audit row.

type Row = ApprovalRow;

/** Namespace of the per-subject advisory lock (the second key is hashtext(issuer, subject)). */
const LOCK_NAMESPACE = 722_057;
export const MIN_TTL_SECONDS = 1;
export const MAX_TTL_SECONDS = 30 * 86_400;

export function checkTtl(ttlSeconds: number, what: string): number {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < MIN_TTL_SECONDS || ttlSeconds > MAX_TTL_SECONDS)
    throw new RecordInvalidError(
      `${what}: expected whole seconds from ${MIN_TTL_SECONDS} to ${MAX_TTL_SECONDS} (30 days), got ${ttlSeconds}`,
    );
  return ttlSeconds;
}

export interface RepoDeps {
  db: Kysely<Database>;
  /** Writes one audit row durably (the AuditWriter's approvalEvent). */
  audit: (r: ApprovalEventRecord) => Promise<void>;
  /** After a change and its audit row: the in-memory view and the event listener. */
  changed: (row: ApprovalRequest | { deleted: string }, event?: ApprovalEvent) => void;
  systemActor: ApprovalActor;
}

type Decision = "grant" | "deny" | "revoke";

export class ApprovalRepository {
  readonly #d: RepoDeps;

  constructor(deps: RepoDeps) {
    this.#d = deps;
  }

  async #locked<T>(issuer: string, subject: string, fn: (tx: Transaction<Database>) => Promise<T>) {
    return this.#d.db.transaction().execute(async (tx) => {
      await sql`SELECT pg_advisory_xact_lock(${LOCK_NAMESPACE}::int, hashtext(${`${issuer}\n${subject}`}))`.execute(
        tx,
      );
      return fn(tx);
    });
  }

  async request(
    requester: ApprovalRequester,
    opts: { reason?: string | null; defaultTtlSeconds: number },
  ): Promise<{ request: ApprovalRequest; created: boolean }> {
    checkTtl(opts.defaultTtlSeconds, "defaultTtlSeconds");
    const reason = capText(opts.reason);
    for (let attempt = 0; attempt < 5; attempt++) {
      const now = new Date();
      const got = await this.#locked(requester.issuer, requester.subject, async (tx) => {
        const live = await tx
          .selectFrom("approval_requests")
          .selectAll()
          .where("issuer", "=", requester.issuer)
          .where("subject", "=", requester.subject)
          .where((eb) =>
            eb.or([
              eb("status", "=", "pending"),
              eb.and([eb("status", "=", "granted"), eb("expires_at", ">", now)]),
            ]),
          )
          .orderBy("requested_at", "desc")
          .executeTakeFirst();
        if (live) return { row: live, created: false };
        const row = await tx
          .insertInto("approval_requests")
          .values({
            id: newApprovalId(),
            issuer: requester.issuer,
            subject: requester.subject,
            email: requester.email ?? null,
            groups: requester.groups ? [...requester.groups] : null,
            reason,
            status: "pending",
            requested_at: now,
            default_ttl_seconds: opts.defaultTtlSeconds,
          })
          .onConflict((oc) => oc.doNothing())
          .returningAll()
          .executeTakeFirst();
        return row ? { row, created: true } : null; // an id collision: try another id
      });
      if (!got) continue;
      const request = toRequest(got.row);
      if (got.created) {
        const actor: ApprovalActor = {
          kind: "requester",
          name: request.email ?? request.subject,
          subject: request.subject,
          issuer: request.issuer,
        };
        await this.#audit(request, "requested", actor, now, { reason }, () =>
          this.#d.db.deleteFrom("approval_requests").where("id", "=", request.id).execute(),
        );
        return { request, created: true };
      }
      if (reason !== null && request.status === "pending" && reason !== request.reason)
        return { request: await this.#attachReason(request, reason), created: false };
      return { request, created: false };
    }
    throw new Error("could not allocate an approval request id after 5 attempts");
  }

  async #attachReason(request: ApprovalRequest, reason: string): Promise<ApprovalRequest> {
    const now = new Date();
    const row = await this.#d.db
      .updateTable("approval_requests")
      .set({ reason })
      .where("id", "=", request.id)
      .where("status", "=", "pending")
      .returningAll()
      .executeTakeFirst();
    if (!row) return (await this.get(request.id)) ?? request;
    const updated = toRequest(row);
    const actor: ApprovalActor = {
      kind: "requester",
      name: updated.email ?? updated.subject,
      subject: updated.subject,
      issuer: updated.issuer,
    };
    await this.#audit(updated, "reason", actor, now, { reason }, () =>
      this.#d.db
        .updateTable("approval_requests")
        .set({ reason: request.reason })
        .where("id", "=", request.id)
        .execute(),
    );
    return updated;
  }

  grant(id: string, actor: ApprovalActor, opts: { ttlSeconds?: number; note?: string | null } = {}) {
    return this.#decide("grant", id, actor, opts);
  }

  deny(id: string, actor: ApprovalActor, opts: { note?: string | null } = {}) {
    return this.#decide("deny", id, actor, opts);
  }

  revoke(id: string, actor: ApprovalActor, opts: { note?: string | null } = {}) {
    return this.#decide("revoke", id, actor, opts);
  }

  async #decide(
    kind: Decision,
    rawId: string,
    actor: ApprovalActor,
    opts: { ttlSeconds?: number; note?: string | null },
  ): Promise<ApprovalRequest> {
    const id = normalizeApprovalId(rawId);
    if (id === null) throw new ApprovalNotFoundError(rawId);
    const first = await this.#d.db
      .selectFrom("approval_requests")
      .select(["issuer", "subject"])
      .where("id", "=", id)
      .executeTakeFirst();
    if (!first) throw new ApprovalNotFoundError(id);
    const note = capText(opts.note);
    const now = new Date();
    const { before, after } = await this.#locked(first.issuer, first.subject, async (tx) => {
      const cur = await tx
        .selectFrom("approval_requests")
        .selectAll()
        .where("id", "=", id)
        .forUpdate()
        .executeTakeFirstOrThrow();
      const state = toRequest(cur, now.getTime());
      check(kind, state, actor);
      let q = tx.updateTable("approval_requests").where("id", "=", id);
      if (kind === "grant") {
        const ttl = checkTtl(opts.ttlSeconds ?? state.defaultTtlSeconds, "ttl");
        q = q.set({
          status: "granted",
          decided_at: now,
          decided_by: actor.name,
          decision_note: note,
          ttl_seconds: ttl,
          expires_at: new Date(now.getTime() + ttl * 1000),
        });
      } else if (kind === "deny") {
        q = q.set({ status: "denied", decided_at: now, decided_by: actor.name, decision_note: note });
      } else {
        q = q.set({ status: "revoked", revoked_at: now, revoked_by: actor.name });
      }
      return { before: cur, after: toRequest(await q.returningAll().executeTakeFirstOrThrow()) };
    });
    const event: ApprovalEventKind = kind === "grant" ? "granted" : kind === "deny" ? "denied" : "revoked";
    await this.#audit(
      after,
      event,
      actor,
      now,
      { note, ttlSeconds: after.ttlSeconds, expiresAt: after.expiresAt },
      () => this.#undo(before, after.changeSeq),
    );
    return after;
  }

  /** Puts a row back as it was, unless something changed it since. */
  async #undo(before: Row, changeSeq: string): Promise<void> {
    await this.#d.db
      .updateTable("approval_requests")
      .set({
        status: before.status,
        decided_at: before.decided_at,
        decided_by: before.decided_by,
        decision_note: before.decision_note,
        ttl_seconds: before.ttl_seconds,
        expires_at: before.expires_at,
        revoked_at: before.revoked_at,
        revoked_by: before.revoked_by,
      })
      .where("id", "=", before.id)
      .where("change_seq", "=", changeSeq as never)
      .execute();
  }

  async sweepExpired(now = new Date()): Promise<number> {
    const rows = await this.#d.db
      .updateTable("approval_requests")
      .set({ status: "expired" })
      .where("status", "=", "granted")
      .where("expires_at", "<=", now)
      .returningAll()
      .execute();
    for (const row of rows) {
      const r = toRequest(row);
      await this.#audit(
        r,
        "expired",
        this.#d.systemActor,
        new Date(),
        { ttlSeconds: r.ttlSeconds, expiresAt: r.expiresAt },
        () =>
          this.#d.db
            .updateTable("approval_requests")
            .set({ status: "granted" })
            .where("id", "=", r.id)
            .where("status", "=", "expired")
            .execute(),
      ).catch(() => undefined); // undone: the next sweep tries again
    }
    return rows.length;
  }

  /** Writes the audit row; if it cannot be stored, undoes the change and rethrows. */
  async #audit(
    request: ApprovalRequest,
    event: ApprovalEventKind,
    actor: ApprovalActor,
    at: Date,
    extra: Pick<ApprovalEventRecord, "reason" | "note" | "ttlSeconds" | "expiresAt">,
    undo: () => Promise<unknown>,
  ): Promise<void> {
    try {
      await this.#d.audit({
        requestId: request.id,
        event,
        at,
        requester: {
          issuer: request.issuer,
          subject: request.subject,
          email: request.email,
          groups: request.groups,
        },
        actor,
        ...extra,
      });
    } catch (err) {
      await undo().catch(() => undefined);
      const back = await this.get(request.id).catch(() => null);
      this.#d.changed(back ?? { deleted: request.id });
      throw err;
    }
    this.#d.changed(request, { event, request, actor, at });
  }

  get(rawId: string): Promise<ApprovalRequest | null> {
    return getRequest(this.#d.db, rawId);
  }
}

function check(kind: Decision, r: ApprovalRequest, actor: ApprovalActor): void {
  if (kind === "revoke") {
    if (r.status !== "granted")
      throw new ApprovalConflictError(
        r.id,
        r.status,
        r.status === "pending"
          ? `request ${r.id} is pending, not granted: deny it instead`
          : `request ${r.id} is ${r.status}: only a live grant can be revoked`,
      );
    return;
  }
  if (r.status !== "pending")
    throw new ApprovalConflictError(
      r.id,
      r.status,
      `request ${r.id} is already ${r.status}${r.decidedBy ? ` (by ${r.decidedBy})` : ""}`,
    );
  if (
    kind === "grant" &&
    actor.subject != null &&
    actor.subject === r.subject &&
    (actor.issuer == null || actor.issuer === r.issuer)
  )
    throw new SelfApprovalError(r.id);
}
