import { Command, CommanderError } from "commander";
import { accessCommand } from "./commands/access.js";
import { approvalsCommand } from "./commands/approvals.js";
import { caCommand } from "./commands/ca.js";
import { pacCommand } from "./commands/pac.js";
import { reportCommand } from "./commands/report.js";
import { reportApprovalsCommand } from "./commands/report-approvals.js";
import { retentionCommand } from "./commands/retention.js";
import { sessionsCommand } from "./commands/sessions.js";
import { startCommand } from "./commands/start.js";
import { migrateCommand, verifyCommand } from "./commands/store.js";
import { tokenCommand } from "./commands/token.js";
import { ConfigError } from "./config.js";

export function buildProgram(): Command {
  const program = new Command("copilot-audit")
    .description("Audit gateway for AI coding assistants: records, masks and governs Copilot traffic")
    .version("0.1.0")
    .showHelpAfterError("(run with --help for usage)");
  program.addCommand(startCommand());
  program.addCommand(caCommand());
  program.addCommand(pacCommand());
  program.addCommand(tokenCommand());
  program.addCommand(migrateCommand());
  program.addCommand(verifyCommand());
  program.addCommand(approvalsCommand());
  program.addCommand(accessCommand());
  program.addCommand(reportCommand().addCommand(reportApprovalsCommand()));
  program.addCommand(sessionsCommand());
  program.addCommand(retentionCommand());
  return program;
}

/** Errors with a `code` are expected failures: one clear line, no stack. */
export function reportError(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode;
  const e = err as Error & { code?: string };
  const message = e?.message ?? String(err);
  if (e && typeof e.code === "string" && !e.code.startsWith("ERR_")) {
    process.stderr.write(`copilot-audit: error: ${message}\n`);
    return err instanceof ConfigError ? 2 : 1;
  }
  process.stderr.write(`copilot-audit: unexpected error: ${e?.stack ?? message}\n`);
  return 1;
}
