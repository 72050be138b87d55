import type { Command } from "commander";
import { repeatable } from "../options.js";

/** The just-in-time approval flags of `start`. */
export function approvalStartOptions(cmd: Command): Command {
  return cmd
    .option(
      "--approval-group <group>",
      "members need a live just-in-time approval before Copilot traffic is forwarded (repeatable)",
      repeatable,
    )
    .option(
      "--approver-group <group>",
      "members may grant, deny and revoke approvals (repeatable)",
      repeatable,
    )
    .option("--approval-ttl <duration>", "lifetime of a grant when the approver names none (default 8h)")
    .option(
      "--approval-webhook <url>",
      "POST JSON (Slack-compatible text) on each approval request and decision",
    );
}

/** Maps those flags onto config keys. */
export function approvalStartFlags(opts: Record<string, unknown>): Record<string, unknown> {
  return {
    approvalGroups: opts.approvalGroup,
    approverGroups: opts.approverGroup,
    approvalTtl: opts.approvalTtl,
    approvalWebhook: opts.approvalWebhook,
  };
}
