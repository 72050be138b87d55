import { normalizeRow } from "./canonical.js";
import type { PendingRow } from "./rows.js";
import type { ApprovalActorKind, ApprovalEventKind } from "./schema.js";

// Approval events → rows of the hash-chained `approval_events` table (migrations/0003_approvals.sql). One
// row per request, reason, decision, expiry and revocation; the writer puts it in its chain like every other
// audit row, so `verify` covers it.

/** Free text (reasons, notes) is capped: it is meant for a sentence, not a document. */
export const APPROVAL_TEXT_MAX = 1000;

/** Who did something to an approval request. */
export interface ApprovalActor {
  kind: ApprovalActorKind;
  /** Shown as `decided_by` / `revoked_by`: an email, a subject, `os:<user>@<host>`, or `gateway:<instance>`. */
  name: string;
  /** The token subject, when the actor authenticated with one. */
  subject?: string | null;
  issuer?: string | null;
}

/** One approval event, as the writer receives it. */
export interface ApprovalEventRecord {
  requestId: string;
  event: ApprovalEventKind;
  /** When it happened (default: now). */
  at?: Date;
  /** The requester. */
  requester: {
    issuer?: string | null;
    subject: string;
    email?: string | null;
    groups?: readonly string[] | null;
  };
  actor: ApprovalActor;
  reason?: string | null;
  note?: string | null;
  ttlSeconds?: number | null;
  expiresAt?: Date | null;
}

export function capText(text: string | null | undefined): string | null {
  if (text === null || text === undefined) return null;
  const t = text.trim();
  if (t.length === 0) return null;
  return t.length > APPROVAL_TEXT_MAX ? `${t.slice(0, APPROVAL_TEXT_MAX - 1)}…` : t;
}

export function approvalEventRows(r: ApprovalEventRecord): PendingRow[] {
  return [
    {
      table: "approval_events",
      row: normalizeRow("approval_events", {
        request_id: r.requestId,
        event: r.event,
        at: r.at ?? new Date(),
        issuer: r.requester.issuer ?? null,
        subject: r.requester.subject,
        email: r.requester.email ?? null,
        groups: r.requester.groups ? [...r.requester.groups] : null,
        actor: r.actor.name,
        actor_kind: r.actor.kind,
        actor_subject: r.actor.subject ?? null,
        reason: capText(r.reason),
        note: capText(r.note),
        ttl_seconds: r.ttlSeconds ?? null,
        expires_at: r.expiresAt ?? null,
      }),
    },
  ];
}
