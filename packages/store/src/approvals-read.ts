import { type Kysely, type Selectable, sql } from "kysely";
import { normalizeApprovalId } from "./approval-ids.js";
import type { ApprovalListFilter, ApprovalRequest } from "./approvals-types.js";
import type { ApprovalRequestsTable, ApprovalStatus, Database } from "./schema.js";

// Reads of the operational approval_requests table (the repository's writes are in approvals-repo.ts).

export type ApprovalRow = Selectable<ApprovalRequestsTable>;

/** A row as the API sees it; a grant whose expires_at has passed reads as `expired`. */
export function toRequest(r: ApprovalRow, now = Date.now()): ApprovalRequest {
  const expiresAt = r.expires_at === null ? null : new Date(r.expires_at);
  const elapsed = r.status === "granted" && expiresAt !== null && expiresAt.getTime() <= now;
  return {
    id: r.id,
    issuer: r.issuer,
    subject: r.subject,
    email: r.email,
    groups: r.groups,
    reason: r.reason,
    status: elapsed ? "expired" : r.status,
    requestedAt: new Date(r.requested_at),
    defaultTtlSeconds: r.default_ttl_seconds,
    decidedAt: r.decided_at === null ? null : new Date(r.decided_at),
    decidedBy: r.decided_by,
    decisionNote: r.decision_note,
    ttlSeconds: r.ttl_seconds,
    expiresAt,
    revokedAt: r.revoked_at === null ? null : new Date(r.revoked_at),
    revokedBy: r.revoked_by,
    changeSeq: String(r.change_seq),
  };
}

export async function getRequest(db: Kysely<Database>, rawId: string): Promise<ApprovalRequest | null> {
  const id = normalizeApprovalId(rawId);
  if (id === null) return null;
  const row = await db.selectFrom("approval_requests").selectAll().where("id", "=", id).executeTakeFirst();
  return row ? toRequest(row) : null;
}

export async function getRequests(db: Kysely<Database>, ids: readonly string[]): Promise<ApprovalRequest[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .selectFrom("approval_requests")
    .selectAll()
    .where("id", "in", [...ids])
    .execute();
  return rows.map((r) => toRequest(r));
}

/** The latest request of every subject (for the in-memory view). */
export async function latestPerSubject(db: Kysely<Database>): Promise<ApprovalRequest[]> {
  const rows = await db
    .selectFrom("approval_requests")
    .selectAll()
    .distinctOn(["issuer", "subject"])
    .orderBy("issuer")
    .orderBy("subject")
    .orderBy("requested_at", "desc")
    .orderBy("id", "desc")
    .execute();
  return rows.map((r) => toRequest(r));
}

/** A cheap fingerprint of the table: changes whenever a row is added, changed or removed. */
export async function tableVersion(db: Kysely<Database>): Promise<string> {
  const r = await db
    .selectFrom("approval_requests")
    .select((eb) => [eb.fn.max("change_seq").as("m"), eb.fn.countAll<string>().as("n")])
    .executeTakeFirst();
  return `${r?.m ?? 0}/${r?.n ?? 0}`;
}

export async function listRequests(
  db: Kysely<Database>,
  filter: ApprovalListFilter = {},
): Promise<ApprovalRequest[]> {
  const now = new Date();
  let q = db.selectFrom("approval_requests").selectAll();
  if (filter.user) {
    const u = filter.user;
    q = q.where((eb) => eb.or([eb("subject", "=", u), eb(sql`lower(email)`, "=", u.toLowerCase())]));
  }
  if (filter.since) q = q.where("requested_at", ">=", filter.since);
  if (filter.until) q = q.where("requested_at", "<", filter.until);
  if (filter.status && filter.status.length > 0) {
    const wanted = new Set<ApprovalStatus>(filter.status);
    q = q.where((eb) =>
      eb.or(
        [...wanted].map((s) => {
          if (s === "granted") return eb.and([eb("status", "=", "granted"), eb("expires_at", ">", now)]);
          if (s === "expired")
            return eb.or([
              eb("status", "=", "expired"),
              eb.and([eb("status", "=", "granted"), eb("expires_at", "<=", now)]),
            ]);
          return eb("status", "=", s);
        }),
      ),
    );
  }
  const rows = await q
    .orderBy("requested_at", "desc")
    .limit(Math.max(1, Math.min(10_000, filter.limit ?? 500)))
    .execute();
  return rows.map((r) => toRequest(r, now.getTime()));
}

/** One approval request as auditors see it: the `approvals` view (derived from the audit rows alone). */
export type ApprovalReportRow = Selectable<Database["approvals"]>;

/**
 * `report approvals`: the approvals view, oldest first, requested in [since, until), optionally for one user
 * (subject, or email in any case).
 */
export async function approvalsReport(
  db: Kysely<Database>,
  f: { since?: Date | undefined; until?: Date | undefined; user?: string | undefined } = {},
): Promise<ApprovalReportRow[]> {
  let q = db.selectFrom("approvals").selectAll();
  if (f.since) q = q.where("requested_at", ">=", f.since);
  if (f.until) q = q.where("requested_at", "<", f.until);
  if (f.user) {
    const u = f.user;
    q = q.where((eb) => eb.or([eb("subject", "=", u), eb(sql`lower(email)`, "=", u.toLowerCase())]));
  }
  return q.orderBy("requested_at").orderBy("id").execute();
}
