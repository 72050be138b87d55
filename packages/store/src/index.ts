// @copilot-audit/store: the audit database (pg or PGlite), migrations, the group-commit hash-chained
// writer with its local spool, and chain verification.
export {
  APPROVAL_TEXT_MAX,
  type ApprovalActor,
  type ApprovalEventRecord,
} from "./approval-events.js";
export { normalizeApprovalId } from "./approval-ids.js";
export { type ApprovalsOptions, openApprovals } from "./approvals.js";
export { type ApprovalReportRow, approvalsReport } from "./approvals-read.js";
export {
  MAX_TTL_SECONDS as APPROVAL_MAX_TTL_SECONDS,
  MIN_TTL_SECONDS as APPROVAL_MIN_TTL_SECONDS,
} from "./approvals-repo.js";
export type {
  ApprovalEvent,
  ApprovalListFilter,
  ApprovalLookup,
  ApprovalRequest,
  ApprovalRequester,
  Approvals,
  ApprovalsStatus,
} from "./approvals-types.js";
export { APPROVALS_CHANNEL } from "./approvals-view.js";
export {
  BodyCapture,
  type BodyColumnValues,
  type BodyInput,
  type CapturedBody,
  DEFAULT_BODY_CAP_BYTES,
} from "./body.js";
export { GENESIS_HASH } from "./canonical.js";
export {
  ApprovalConflictError,
  ApprovalNotFoundError,
  ConfigInvalidError,
  DatabaseLockedError,
  MigrationFailedError,
  MigrationOrderError,
  QueryInvalidError,
  RecordInvalidError,
  RetentionRefusedError,
  SelfApprovalError,
  StoreError,
  type StoreErrorCode,
  StoreUnavailableError,
  WriterClosedError,
} from "./errors.js";
export {
  type ExposureHit,
  type ExposureResult,
  type ExposureSource,
  exposureReport,
} from "./exposure.js";
export { FINGERPRINT_PREFIX } from "./fingerprint.js";
export {
  findMigrationsDir,
  type MigrateResult,
  type MigrationFile,
  planMigrations,
  readMigrations,
} from "./migrations.js";
export type {
  FindingRecord,
  IdentityRecord,
  RequestRecord,
  ResponseRecord,
  SessionClosedRecord,
  SessionOpenedRecord,
} from "./records.js";
export {
  type ActivityRow,
  activityReport,
  type ReportFilter,
  type SecretRow,
  secretsReport,
  type UserRow,
  usersReport,
} from "./reports.js";
export {
  applyRetention,
  RETENTION_WRITER_NAME,
  type RetentionGap,
  type RetentionOptions,
  type RetentionPartition,
  type RetentionProgress,
  type RetentionReport,
} from "./retention.js";
export { DEFAULT_SENSITIVE_HEADERS, type RawHeaders, TOKEN_BODY_FIELDS } from "./sanitize.js";
export type * from "./schema.js";
export { type OpenStoreOptions, openStore, type Store } from "./store.js";
export type { StoreLogger } from "./store-types.js";
export { ExchangeTail, type TailEvent, type TailExchange, type TailFilter } from "./tail.js";
export {
  listSessions,
  resolveSessionId,
  type SessionFilter,
  type SessionSummary,
  sessionTranscript,
  type Transcript,
  type TranscriptBody,
  type TranscriptExchange,
  type TranscriptFinding,
} from "./transcripts.js";
export type {
  ChainProblem,
  ChainProblemKind,
  ChainReport,
  DeclaredGap,
  VerifyOptions,
  VerifyReport,
} from "./verify.js";
export type * from "./views.js";
export type { AuditWriter, WriterHealth, WriterOptions, WriterStats } from "./writer-types.js";
