import { openStore, type Store } from "@copilot-audit/store";
import { Command } from "commander";
import { type AppConfig, absolute } from "../config.js";
import { configFrom, formatOption, globalOptions } from "../options.js";
import { print } from "../output.js";
import { progress } from "../progress.js";
import { parseTime } from "../time.js";

/** Opens the configured store for a one-off command (PGlite under the data dir, or DATABASE_URL). */
export async function withStore<T>(
  config: AppConfig,
  migrate: boolean,
  fn: (store: Store) => Promise<T>,
  opts: { queryTimeoutMs?: number } = {},
): Promise<T> {
  const store = await openStore({
    databaseUrl: config.databaseUrl ?? undefined,
    dataDir: absolute(config.dataDir),
    migrate,
    fingerprintKey: config.fingerprintKey ?? undefined,
    ...(opts.queryTimeoutMs === undefined ? {} : { queryTimeoutMs: opts.queryTimeoutMs }),
  });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

export function migrateCommand(): Command {
  return globalOptions(new Command("migrate"))
    .description("apply the database migrations (start does this too, unless --no-migrate)")
    .addOption(formatOption())
    .action(async (opts) => {
      const config = configFrom(opts);
      const r = await withStore(config, false, (store) => store.migrate());
      if (opts.format === "json") {
        print("json", [
          {
            applied: r.applied.join(" "),
            alreadyApplied: r.alreadyApplied.join(" "),
            partitionsCreated: r.partitionsCreated,
          },
        ]);
        return;
      }
      process.stdout.write(
        r.applied.length > 0
          ? `applied ${r.applied.length} migration(s): ${r.applied.join(", ")}\n`
          : `database is up to date (${r.alreadyApplied.length} migration(s) applied earlier)\n`,
      );
    });
}

export function verifyCommand(): Command {
  return globalOptions(new Command("verify"))
    .description("recompute every hash chain and report the first broken or missing link (exit 1 if any)")
    .option("--since <time>", "only rows from this time on: ISO date/time or relative (7d, 24h)")
    .addOption(formatOption())
    .action(async (opts) => {
      const config = configFrom(opts);
      const since = opts.since ? parseTime(opts.since, "--since") : undefined;
      const bar = progress();
      const report = await withStore(config, true, (store) =>
        store.verify({
          ...(since ? { since } : {}),
          onProgress: (n) => bar.update(`verifying: ${n.toLocaleString("en")} rows`),
        }),
      );
      bar.done();
      const gaps = report.chains.reduce((n, c) => n + c.gaps.length, 0);
      if (opts.format === "json") {
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      } else {
        const lines = [
          report.ok
            ? `OK: ${report.totalRows} audit rows in ${report.chains.length} chain(s) verified${since ? ` since ${since.toISOString()}` : ""}; every link intact`
            : `BROKEN: ${report.firstProblem?.message ?? "a chain does not verify"}`,
          ...(gaps > 0
            ? [
                `${gaps} declared gap(s): rows removed on purpose by retention runs, each declaration signed with this deployment's key (see audit_retention_runs)`,
              ]
            : []),
          "",
        ];
        process.stdout.write(lines.join("\n"));
        print(
          "table",
          report.chains.map((c) => ({
            chain: c.chainId,
            writer: c.writerName,
            rows: c.rows,
            seq: c.firstSeq === null ? "" : `${c.firstSeq}..${c.lastSeq}`,
            closed: c.closed ?? "open",
            gaps: c.gaps.map((g) => `${g.fromSeq}..${g.toSeq}`).join(" "),
            status: c.ok
              ? "ok"
              : `${c.problem?.kind} at seq ${c.problem?.seq}${c.problem?.table ? ` (${c.problem.table} ${c.problem.rowId})` : ""}`,
          })),
        );
      }
      if (!report.ok) process.exitCode = 1;
    });
}
