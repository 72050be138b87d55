// @copilot-audit/store: the audit database (pg or PGlite), migrations, the group-commit hash-chained
// writer with its local spool, and chain verification.
export {
  BodyCapture,
  type BodyColumnValues,
  type BodyInput,
  type CapturedBody,
  DEFAULT_BODY_CAP_BYTES,
} from "./body.js";
export { GENESIS_HASH } from "./canonical.js";
export {
  ConfigInvalidError,
  DatabaseLockedError,
  MigrationFailedError,
  MigrationOrderError,
  RecordInvalidError,
  StoreError,
  type StoreErrorCode,
  StoreUnavailableError,
  WriterClosedError,
} from "./errors.js";
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
export { DEFAULT_SENSITIVE_HEADERS, type RawHeaders, TOKEN_BODY_FIELDS } from "./sanitize.js";
export type * from "./schema.js";
export { type OpenStoreOptions, openStore, type Store } from "./store.js";
export type { StoreLogger } from "./store-types.js";
export type { ChainProblem, ChainProblemKind, ChainReport, VerifyOptions, VerifyReport } from "./verify.js";
export type { AuditWriter, WriterHealth, WriterOptions, WriterStats } from "./writer-types.js";
