import { Command } from "commander";
import { ConfigError } from "../config.js";
import { configFrom, formatOption } from "../options.js";
import { type ApiTarget, type ApprovalJson, apiOptions, apiTarget, callApi } from "./approval-client.js";

function target(opts: Record<string, unknown>): ApiTarget {
  const config = configFrom(opts, { gateway: opts.gateway, tokenFile: opts.tokenFile });
  const t = apiTarget(config, true);
  if (!t)
    throw new ConfigError(
      "access talks to the gateway: --gateway http://<gateway>:8080 (or COPILOT_AUDIT_GATEWAY, or HTTPS_PROXY with your token in it)",
    );
  return t;
}

function common(cmd: Command): Command {
  return apiOptions(cmd, true)
    .option("--config <file>", "JSON config file (env COPILOT_AUDIT_CONFIG)")
    .addOption(formatOption(["table", "json"]));
}

/**
 * `copilot-audit access request|status`: a developer asks for (or checks) just-in-time Copilot access with
 * their own token. Gateway and token come from --gateway/--token-file, COPILOT_AUDIT_GATEWAY/_TOKEN(_FILE), or
 * the proxy URL already in HTTPS_PROXY (http://oidc:<token>@gateway:8080).
 */
export function accessCommand(): Command {
  const cmd = new Command("access").description(
    "ask for just-in-time Copilot access, or check it (your token)",
  );
  common(cmd.command("request"))
    .description("ask for access (or add a reason to your pending request); approvers see the reason")
    .option("--reason <text>", "why you need Copilot, e.g. a ticket")
    .action(async (opts) => {
      const r = await callApi<{
        needed: boolean;
        created?: boolean;
        message?: string;
        request?: ApprovalJson;
      }>(target(opts), "POST", "/api/access/request", { reason: opts.reason ?? null });
      if (opts.format === "json") return void process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      process.stdout.write(`${describe(r.needed, r.request ?? null, r.created ?? false, r.message)}\n`);
    });
  common(cmd.command("status"))
    .description("whether you need an approval and the state of your latest request")
    .action(async (opts) => {
      const r = await callApi<{ needed: boolean; allowed: boolean; request: ApprovalJson | null }>(
        target(opts),
        "GET",
        "/api/access",
      );
      if (opts.format === "json") return void process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      process.stdout.write(`${describe(r.needed, r.request, false)}\n`);
    });
  return cmd;
}

function describe(needed: boolean, r: ApprovalJson | null, created: boolean, message?: string): string {
  if (!needed) return message ?? "you do not need an approval to use Copilot";
  if (!r) return 'you need an approval: run `copilot-audit access request --reason "…"`';
  const reason = r.reason ? ` (reason: ${r.reason})` : "";
  switch (r.status) {
    case "pending":
      return `request ${r.id} is ${created ? "created and " : ""}pending${reason}; an approver must run \`copilot-audit approvals grant ${r.id}\``;
    case "granted":
      return `you have Copilot access until ${r.expiresAt} (approval ${r.id} by ${r.decidedBy})`;
    default:
      return `your latest request ${r.id} is ${r.status}; ask again with \`copilot-audit access request --reason "…"\``;
  }
}
