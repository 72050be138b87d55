import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Store } from "@copilot-audit/store";
import { type AppConfig, absolute, ConfigError } from "../config.js";
import { ticking } from "../progress.js";
import { withStore } from "./store.js";

// Stores for the auditor's read-only commands (report, sessions). They read the audit_* views only, so a login
// that has nothing but copilot_audit_reader is enough: on PostgreSQL they never migrate (a reader may not);
// the embedded database is migrated as usual (the CLI owns it).

/** Reports over months of data may take minutes; the store's default statement timeout is 15 s. */
export const REPORT_QUERY_TIMEOUT_MS = 30 * 60_000;

/**
 * Opens the store for reading; a database that was never migrated gets a clear message. On a terminal, a
 * query that takes more than a second shows the time elapsed on stderr (`progress: false` for live output).
 */
export async function withReadStore<T>(
  config: AppConfig,
  fn: (store: Store) => Promise<T>,
  opts: { progress?: boolean } = {},
): Promise<T> {
  return withStore(
    config,
    config.databaseUrl === null,
    async (store) => {
      try {
        return opts.progress === false ? await fn(store) : await ticking("reading the audit log…", fn(store));
      } catch (err) {
        const e = err as Error & { code?: string };
        if (e.code === "42P01" && /audit_|exchange_log/.test(e.message))
          throw new ConfigError(
            `the database has no auditor views (${e.message}): run \`copilot-audit migrate\` with an owner login first`,
          );
        if (e.code === "42501")
          throw new ConfigError(
            `permission denied (${e.message}): the login needs the copilot_audit_reader role (GRANT copilot_audit_reader TO <login>)`,
          );
        throw err;
      }
    },
    { queryTimeoutMs: REPORT_QUERY_TIMEOUT_MS },
  );
}

/**
 * Exposure searches are only meaningful with the deployment's fingerprint key: a new random key would find
 * nothing and look like "never exposed". Refuses when no key is configured and none exists yet.
 */
export function requireFingerprintKey(config: AppConfig): void {
  if (config.fingerprintKey) return;
  const file = join(absolute(config.dataDir), "fingerprint.key");
  if (!existsSync(file))
    throw new ConfigError(
      `no fingerprint key: ${file} does not exist and COPILOT_AUDIT_FINGERPRINT_KEY is not set. ` +
        "Secrets are stored as HMACs with the gateway's key; use the same --data-dir as the gateway, or set " +
        "COPILOT_AUDIT_FINGERPRINT_KEY to its key (a new key would find nothing)",
    );
}
