import { userInfo } from "node:os";
import { applyRetention, type RetentionProgress, type RetentionReport } from "@copilot-audit/store";
import { Command } from "commander";
import { parseDuration } from "../durations.js";
import { configFrom, formatOption, globalOptions } from "../options.js";
import { progress } from "../progress.js";
import { emit, utc } from "../tabular.js";
import { REPORT_QUERY_TIMEOUT_MS } from "./read-store.js";
import { withStore } from "./store.js";

// `copilot-audit retention --older-than 180d [--dry-run]`: drops whole monthly partitions past the horizon
// after verifying every chain, and records a chained, signed-off retention run (store/src/retention.ts), then
// verifies again to show that the log still proves itself.

/** Who signs the run off: the OS user (and, under sudo, who ran sudo). */
export function operator(env: NodeJS.ProcessEnv = process.env): string {
  let name: string;
  try {
    name = userInfo().username;
  } catch {
    name = env.USER ?? env.LOGNAME ?? "unknown";
  }
  return env.SUDO_USER && env.SUDO_USER !== name ? `${name} (sudo by ${env.SUDO_USER})` : name;
}

function describeProgress(p: RetentionProgress): string {
  if (p.step === "verify")
    return `verifying the chains before dropping anything: ${p.done.toLocaleString("en")} rows`;
  if (p.step === "count") return `counting rows: partition ${p.done}/${p.total}`;
  return `dropping partitions: ${p.done}/${p.total}`;
}

export function retentionCommand(): Command {
  return globalOptions(new Command("retention"))
    .description(
      "drop whole months of the audit log that ended before the horizon (never the current month, never a " +
        "DELETE); records who did it, what and how many rows, signed, so that `verify` still passes",
    )
    .requiredOption(
      "--older-than <age>",
      "drop months that ended more than this long ago (e.g. 180d; at least 1d)",
    )
    .option("--dry-run", "show what would be dropped; change nothing")
    .option("--reason <text>", "kept with the run: a ticket, a policy")
    .addOption(formatOption(["table", "json"]))
    .action(async (opts) => {
      const config = configFrom(opts);
      const olderThanMs = parseDuration(opts.olderThan, "--older-than");
      const bar = progress();
      const { report, verified } = await withStore(
        config,
        true,
        async (store) => {
          const report = await applyRetention(store, {
            olderThanMs,
            olderThan: opts.olderThan,
            dryRun: opts.dryRun === true,
            signedOffBy: operator(),
            reason: opts.reason,
            onProgress: (p) => bar.update(describeProgress(p)),
          });
          const verified =
            report.runId === null
              ? null
              : await store.verify({
                  onProgress: (n) => bar.update(`verifying the result: ${n.toLocaleString("en")} rows`),
                });
          bar.done();
          return { report, verified };
        },
        { queryTimeoutMs: REPORT_QUERY_TIMEOUT_MS },
      );
      if (opts.format === "json") {
        process.stdout.write(
          `${JSON.stringify({ ...report, verify: verified && { ok: verified.ok, totalRows: verified.totalRows, firstProblem: verified.firstProblem } }, null, 2)}\n`,
        );
      } else {
        process.stdout.write(summary(report, opts.olderThan));
        if (verified)
          process.stdout.write(
            verified.ok
              ? `verify: OK — ${verified.totalRows} rows in ${verified.chains.length} chain(s) verified after the drop, across ${verified.chains.reduce((n, c) => n + c.gaps.length, 0)} declared gap(s)\n`
              : `verify: BROKEN — ${verified.firstProblem?.message}\n`,
          );
      }
      if (verified && !verified.ok) process.exitCode = 1;
    });
}

function summary(r: RetentionReport, olderThan: string): string {
  const head = [
    `retention: months that ended before ${utc(r.horizon)} UTC (older than ${olderThan})`,
    r.partitions.length === 0
      ? "nothing to drop"
      : r.dryRun
        ? "DRY RUN: nothing was dropped"
        : `dropped, signed off by ${r.signedOffBy} (retention run ${r.runId})`,
  ];
  let out = `${head.join("\n")}\n`;
  if (r.partitions.length > 0) {
    out += "\n";
    const sink: string[] = [];
    emit(
      "table",
      r.partitions,
      (p) => ({ partition: p.partition, month: p.from.toISOString().slice(0, 7), rows: p.rows }),
      { write: (s: string) => sink.push(s) } as unknown as NodeJS.WritableStream,
    );
    out += sink.join("");
    const chains = new Set(r.gaps.map((g) => g.chainId)).size;
    out +=
      `\n${r.dryRun ? "would remove" : "removed"} ${r.rowsRemoved} row(s) in ${r.partitions.length} partition(s); ` +
      `${r.gaps.length} declared gap(s) in ${chains} chain(s); ${r.rowsVerified} row(s) verified first\n`;
  }
  if (r.keptInDefault > 0)
    out += `kept: ${r.keptInDefault} row(s) older than the horizon sit in DEFAULT partitions (they cannot be dropped without DELETE)\n`;
  return out;
}
