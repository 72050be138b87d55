import type { ApprovalActor } from "./approval-events.js";
import type { ApprovalEventKind, ApprovalStatus } from "./schema.js";

/** One approval request as the operational table holds it (camelCase). */
export interface ApprovalRequest {
  /** `R-` and six base32 digits, e.g. `R-7Q2K9D`. */
  id: string;
  issuer: string;
  subject: string;
  email: string | null;
  groups: string[] | null;
  reason: string | null;
  /** `expired` also for a grant whose `expiresAt` has passed but that no sweep has marked yet. */
  status: ApprovalStatus;
  requestedAt: Date;
  /** The lifetime a grant gets when the approver names none (from the policy, at request time). */
  defaultTtlSeconds: number;
  decidedAt: Date | null;
  decidedBy: string | null;
  decisionNote: string | null;
  ttlSeconds: number | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
  revokedBy: string | null;
  /** Increases with every change of the row (database sequence); orders snapshots of one request. */
  changeSeq: string;
}

/** Who asks for access: a verified identity. */
export interface ApprovalRequester {
  issuer: string;
  subject: string;
  email?: string | null;
  groups?: readonly string[] | null;
}

/** Something this process did to a request, after its audit row is durable (for webhooks and logs). */
export interface ApprovalEvent {
  event: ApprovalEventKind;
  request: ApprovalRequest;
  actor: ApprovalActor;
  at: Date;
}

export interface ApprovalListFilter {
  /** Only these statuses (computed: an elapsed grant counts as `expired`). */
  status?: readonly ApprovalStatus[];
  /** Subject or email, exact (case-insensitive for email). */
  user?: string;
  /** requested_at ≥ since. */
  since?: Date;
  /** requested_at < until. */
  until?: Date;
  /** Default 500. */
  limit?: number;
}

/** What the in-memory view knows about a subject: its latest request (any status), or nothing. */
export type ApprovalLookup = ApprovalRequest | undefined;

export interface ApprovalsStatus {
  /** How the view learns about changes made elsewhere: `listen` (PostgreSQL NOTIFY), `poll`, or `off`. */
  mode: "listen" | "poll" | "off";
  /** `listen` only: the dedicated connection is up (while it is down the view polls). */
  connected: boolean;
  /** Subjects in the in-memory view. */
  subjects: number;
  lastRefreshAt: Date | null;
  lastError: string | null;
}

/** The approvals repository: decisions in the database, every step an audit row, and a fast in-memory view. */
export interface Approvals {
  /**
   * The latest request of a subject, from memory (no database round trip). Refreshed within milliseconds of a
   * change on any replica (LISTEN/NOTIFY on PostgreSQL; polling on PGlite). Undefined without `watch`.
   */
  lookup(issuer: string, subject: string): ApprovalLookup;
  /**
   * The subject's live request (pending, or an unexpired grant), or a new pending one (`created: true`, with
   * a `requested` audit row). One pending request per subject across replicas. A reason given for an existing
   * pending request is attached to it (a `reason` audit row).
   */
  request(
    requester: ApprovalRequester,
    opts: { reason?: string | null; defaultTtlSeconds: number },
  ): Promise<{ request: ApprovalRequest; created: boolean }>;
  /** Pending → granted for `ttlSeconds` (default: the request's). The requester cannot grant their own. */
  grant(
    id: string,
    actor: ApprovalActor,
    opts?: { ttlSeconds?: number; note?: string | null },
  ): Promise<ApprovalRequest>;
  /** Pending → denied. */
  deny(id: string, actor: ApprovalActor, opts?: { note?: string | null }): Promise<ApprovalRequest>;
  /** Granted (unexpired) → revoked: the next exchange is refused. */
  revoke(id: string, actor: ApprovalActor, opts?: { note?: string | null }): Promise<ApprovalRequest>;
  get(id: string): Promise<ApprovalRequest | null>;
  list(filter?: ApprovalListFilter): Promise<ApprovalRequest[]>;
  /** Marks elapsed grants `expired` (one audit row each; one replica wins each). Returns how many. */
  sweepExpired(now?: Date): Promise<number>;
  /** Reloads the in-memory view from the database. */
  refresh(): Promise<void>;
  status(): ApprovalsStatus;
  /** Stops the view (LISTEN connection, timers). Does not close the store or the writer. */
  close(): Promise<void>;
}
