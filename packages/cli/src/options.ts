import { type Command, Option } from "commander";
import { type AppConfig, loadConfig } from "./config.js";

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/** The options every command that touches state takes. */
export function globalOptions(cmd: Command): Command {
  return cmd
    .option(
      "--data-dir <dir>",
      "state directory: embedded database, keys, spool (default ./data; env COPILOT_AUDIT_DATA_DIR)",
    )
    .option(
      "--database-url <url>",
      "PostgreSQL URL (env DATABASE_URL); default: embedded PGlite under <data-dir>/db",
    )
    .option("--config <file>", "JSON config file (env COPILOT_AUDIT_CONFIG); flags override it");
}

export function formatOption(formats: string[] = ["table", "json"]): Option {
  return new Option("--format <format>", "output format").choices(formats).default("table");
}

export const repeatable = collect;

/** Maps commander option values onto config keys and loads the config. */
export function configFrom(opts: Record<string, unknown>, extra: Record<string, unknown> = {}): AppConfig {
  return loadConfig({
    configFile: opts.config as string | undefined,
    flags: {
      dataDir: opts.dataDir,
      databaseUrl: opts.databaseUrl,
      ...extra,
    },
  });
}
