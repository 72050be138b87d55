/** Stable error codes of @copilot-audit/store. Match on `code`, never on the message. */
export type StoreErrorCode =
  | "config_invalid"
  | "database_locked"
  | "store_unavailable"
  | "migration_failed"
  | "migration_missing"
  | "migration_out_of_order"
  | "migrations_not_found"
  | "record_invalid"
  | "writer_closed"
  | "approval_not_found"
  | "approval_conflict"
  | "self_approval"
  | "query_invalid"
  | "retention_refused";

/** Base class of every error this package throws on purpose. */
export class StoreError extends Error {
  readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StoreError";
    this.code = code;
  }
}

/** A store option has a wrong value (unknown URL scheme, malformed fingerprint key, …). */
export class ConfigInvalidError extends StoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("config_invalid", message, options);
    this.name = "ConfigInvalidError";
  }
}

/** Another live process owns the embedded PGlite database. */
export class DatabaseLockedError extends StoreError {
  readonly ownerPid: number;
  readonly ownerHost: string;

  constructor(lockPath: string, ownerPid: number, ownerHost: string) {
    super(
      "database_locked",
      `the embedded database is in use by process ${ownerPid} on ${ownerHost} (lock file ${lockPath}); ` +
        "the embedded PGlite database allows one process only: stop that process, or set DATABASE_URL " +
        "to a PostgreSQL server to run several processes",
    );
    this.name = "DatabaseLockedError";
    this.ownerPid = ownerPid;
    this.ownerHost = ownerHost;
  }
}

/** Neither the database nor the local spool could take a record: the caller must refuse the exchange. */
export class StoreUnavailableError extends StoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("store_unavailable", message, options);
    this.name = "StoreUnavailableError";
  }
}

/** A migration file failed; its transaction was rolled back. */
export class MigrationFailedError extends StoreError {
  readonly migration: string | null;

  constructor(migration: string | null, message: string, options?: { cause?: unknown }) {
    super("migration_failed", message, options);
    this.name = "MigrationFailedError";
    this.migration = migration;
  }
}

/** The applied migrations and the files on disk disagree (missing file, or a new file sorting too early). */
export class MigrationOrderError extends StoreError {
  readonly migration: string;

  constructor(code: "migration_missing" | "migration_out_of_order", migration: string, message: string) {
    super(code, message);
    this.name = "MigrationOrderError";
    this.migration = migration;
  }
}

/** A record handed to the writer cannot be stored (bad timestamp, unknown outcome, …). */
export class RecordInvalidError extends StoreError {
  constructor(message: string) {
    super("record_invalid", message);
    this.name = "RecordInvalidError";
  }
}

/** The writer was closed; no more records are accepted. */
export class WriterClosedError extends StoreError {
  constructor() {
    super("writer_closed", "the audit writer is closed");
    this.name = "WriterClosedError";
  }
}

/** No approval request has this id. */
export class ApprovalNotFoundError extends StoreError {
  readonly requestId: string;

  constructor(requestId: string) {
    super("approval_not_found", `no approval request ${requestId}`);
    this.name = "ApprovalNotFoundError";
    this.requestId = requestId;
  }
}

/** The request is not in a state that allows this decision (e.g. granting a denied request, revoking a pending one). */
export class ApprovalConflictError extends StoreError {
  readonly requestId: string;
  readonly status: string;

  constructor(requestId: string, status: string, message: string) {
    super("approval_conflict", message);
    this.name = "ApprovalConflictError";
    this.requestId = requestId;
    this.status = status;
  }
}

/** A requester tried to grant their own request. */
export class SelfApprovalError extends StoreError {
  readonly requestId: string;

  constructor(requestId: string) {
    super("self_approval", `request ${requestId} is your own: another approver must decide it`);
    this.name = "SelfApprovalError";
    this.requestId = requestId;
  }
}

/** A report or query got input it cannot use (unknown or ambiguous session id, no secret, bad horizon). */
export class QueryInvalidError extends StoreError {
  constructor(message: string) {
    super("query_invalid", message);
    this.name = "QueryInvalidError";
  }
}

/**
 * Retention refused to drop anything: a chain it would cut does not verify (dropping would destroy the
 * evidence), rows arrived in the partitions while it ran, or it could not lock them in time.
 */
export class RetentionRefusedError extends StoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("retention_refused", message, options);
    this.name = "RetentionRefusedError";
  }
}
