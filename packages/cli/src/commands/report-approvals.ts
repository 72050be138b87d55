import { type ApprovalReportRow, approvalsReport } from "@copilot-audit/store";
import { Command } from "commander";
import { ConfigError } from "../config.js";
import { configFrom, formatOption, globalOptions } from "../options.js";
import { print, type Row } from "../output.js";
import { parseTime } from "../time.js";
import { withStore } from "./store.js";

const DEFAULT_SINCE = "30d";

function tableRow(r: ApprovalReportRow): Row {
  const t = (d: Date | null) => (d ? d.toISOString().slice(0, 19).replace("T", " ") : "");
  return {
    id: r.id,
    status: r.status,
    user: r.email ?? r.subject,
    requested: t(r.requested_at),
    reason: r.reason,
    decided_by: r.decided_by,
    decided: t(r.decided_at),
    ttl_s: r.ttl_seconds,
    expires: t(r.expires_at),
    revoked_by: r.revoked_by,
  };
}

function csvRow(r: ApprovalReportRow): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(r))
    out[k] = v instanceof Date ? v.toISOString() : Array.isArray(v) ? v.join(" ") : (v as Row[string]);
  return out;
}

/**
 * `copilot-audit report approvals`: every approval request with its reason, decision, lifetime, expiry and
 * revocation, from the `approvals` view (derived from the hash-chained approval_events rows alone).
 */
export function reportApprovalsCommand(): Command {
  return globalOptions(new Command("approvals"))
    .description("approval requests and decisions: who asked, why, who decided, for how long, revocations")
    .option("--since <time>", `requested from this time on: ISO date/time or age (default ${DEFAULT_SINCE})`)
    .option("--until <time>", "requested before this time: ISO date/time or age (default: now)")
    .option("--user <user>", "only this user: subject, or email (any case)")
    .addOption(formatOption(["table", "csv", "json"]))
    .action(async (opts) => {
      const config = configFrom(opts);
      const since = parseTime(opts.since ?? DEFAULT_SINCE, "--since");
      const until = opts.until ? parseTime(opts.until, "--until") : undefined;
      if (until && since >= until)
        throw new ConfigError(
          `invalid --since/--until: ${since.toISOString()} is not before ${until.toISOString()}`,
        );
      // A reader login may not migrate: only the embedded database (which the CLI owns) is migrated here.
      const rows = await withStore(config, config.databaseUrl === null, (store) =>
        approvalsReport(store.db, { since, until, user: opts.user }),
      );
      if (opts.format === "json") process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      else if (opts.format === "csv") print("csv", rows.map(csvRow));
      else if (rows.length === 0) process.stdout.write("(no rows)\n");
      else print("table", rows.map(tableRow));
    });
}
