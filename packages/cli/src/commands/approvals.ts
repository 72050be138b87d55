import { formatTtl } from "@copilot-audit/gateway";
import { parseDuration } from "@copilot-audit/identity";
import type { ApprovalStatus } from "@copilot-audit/store";
import { Command } from "commander";
import { ConfigError } from "../config.js";
import { configFrom, formatOption, globalOptions } from "../options.js";
import { print, type Row } from "../output.js";
import { parseTime } from "../time.js";
import { type ApprovalJson, apiOptions, type Decision, STATUSES, withApprovals } from "./approval-client.js";

/** A request as one table row. */
export function approvalRow(r: ApprovalJson): Row {
  return {
    id: r.id as string,
    status: r.status as string,
    user: (r.email ?? r.subject) as string,
    groups: ((r.groups as string[] | null) ?? []).join(","),
    reason: r.reason as string | null,
    requested: r.requestedAt as string,
    decided_by: r.decidedBy as string | null,
    expires: r.expiresAt as string | null,
  };
}

function common(cmd: Command): Command {
  return apiOptions(globalOptions(cmd)).addOption(formatOption(["table", "json"]));
}

function statusList(text: string | undefined, all: boolean): ApprovalStatus[] {
  if (all) return [];
  if (!text) return ["pending", "granted"];
  const list = text.split(",").map((s) => s.trim());
  for (const s of list)
    if (!STATUSES.includes(s as ApprovalStatus))
      throw new ConfigError(`invalid --status "${s}": expected one of ${STATUSES.join(", ")}`);
  return list as ApprovalStatus[];
}

function decided(r: ApprovalJson, via: string): string {
  const who = (r.email ?? r.subject) as string;
  switch (r.status) {
    case "granted":
      return `granted ${r.id} to ${who} for ${formatTtl(r.ttlSeconds as number)} (until ${r.expiresAt}), via ${via}\n`;
    case "denied":
      return `denied ${r.id} of ${who}, via ${via}\n`;
    default:
      return `revoked ${r.id} of ${who}: their next Copilot request is refused, via ${via}\n`;
  }
}

/**
 * `copilot-audit approvals list|show|grant|deny|revoke`: against the gateway API when a gateway URL is
 * configured (an approver's token), otherwise directly against the database (operators; the OS user is
 * recorded as the decider).
 */
export function approvalsCommand(): Command {
  const cmd = new Command("approvals").description(
    "just-in-time approvals: list, grant, deny, revoke (via --gateway with an approver's token, else the database)",
  );
  common(cmd.command("list"))
    .description("approval requests, newest first (default: pending and live grants)")
    .option("--status <list>", `only these statuses: ${STATUSES.join(", ")} (comma-separated)`)
    .option("--all", "every status")
    .option("--user <user>", "one user: subject or email")
    .option("--since <time>", "requested at or after: ISO date/time or relative (7d, 24h)")
    .option("--limit <n>", "at most this many (default 500)")
    .action(async (opts) => {
      const config = configFrom(opts, { gateway: opts.gateway, tokenFile: opts.tokenFile });
      const since = opts.since ? parseTime(opts.since, "--since") : undefined;
      const rows = await withApprovals(config, (c) =>
        c.list({
          status: statusList(opts.status, Boolean(opts.all)),
          ...(opts.user ? { user: opts.user } : {}),
          ...(since ? { since } : {}),
          ...(opts.limit ? { limit: Number(opts.limit) } : {}),
        }),
      );
      if (opts.format === "json") process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      else print("table", rows.map(approvalRow));
    });
  common(cmd.command("show").argument("<id>", "request id, e.g. R-7Q2K9D"))
    .description("one approval request")
    .action(async (id: string, opts) => {
      const config = configFrom(opts, { gateway: opts.gateway, tokenFile: opts.tokenFile });
      const r = await withApprovals(config, (c) => c.get(id));
      if (opts.format === "json") process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      else print("table", [r as Row]);
    });
  const decide = (action: Decision["action"], description: string) => {
    const sub = common(cmd.command(action).argument("<id>", "request id, e.g. R-7Q2K9D"))
      .description(description)
      .option("--note <text>", "a note kept with the decision (shown to auditors)");
    if (action === "grant")
      sub.option(
        "--ttl <duration>",
        "how long the grant lasts, e.g. 4h (default: the request's, from the policy)",
      );
    sub.action(async (id: string, opts) => {
      const config = configFrom(opts, { gateway: opts.gateway, tokenFile: opts.tokenFile });
      let ttlSeconds: number | undefined;
      if (opts.ttl) {
        try {
          ttlSeconds = parseDuration(opts.ttl);
        } catch {
          throw new ConfigError(`invalid --ttl "${opts.ttl}": expected a duration such as 4h, 30m, 1h30m`);
        }
      }
      const { r, via } = await withApprovals(config, async (c) => ({
        r: await c.decide(id, { action, note: opts.note ?? null, ...(ttlSeconds ? { ttlSeconds } : {}) }),
        via: c.via,
      }));
      if (opts.format === "json") process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      else process.stdout.write(decided(r, via));
    });
  };
  decide("grant", "grant a pending request: the user's Copilot traffic is forwarded until the grant expires");
  decide("deny", "deny a pending request");
  decide("revoke", "revoke a live grant: the user's next Copilot request is refused");
  return cmd;
}
