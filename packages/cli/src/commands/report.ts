import {
  activityReport,
  type ExposureHit,
  exposureReport,
  type ReportFilter,
  secretsReport,
  usersReport,
} from "@copilot-audit/store";
import { Command } from "commander";
import { ConfigError } from "../config.js";
import { configFrom, formatOption, globalOptions } from "../options.js";
import { bytes, emit, type Format, shortId, utc, who } from "../tabular.js";
import { parseTime } from "../time.js";
import { requireFingerprintKey, withReadStore } from "./read-store.js";

// `copilot-audit report …`: activity, users, secrets, exposure. Other reports (approvals) are subcommands
// added to the group in program.ts: `reportCommand().addCommand(…)`; `reportOptions` and `reportFilter` give
// them the same --since/--until/--user/--format.

const DEFAULT_SINCE = "30d";

/** --since/--until/--user/--format (table, csv, json) for a report subcommand. */
export function reportOptions(cmd: Command, opts: { defaultSince?: string | null } = {}): Command {
  const since = opts.defaultSince === undefined ? DEFAULT_SINCE : opts.defaultSince;
  return globalOptions(cmd)
    .option(
      "--since <time>",
      `from this time on: ISO date/time or age (7d, 24h)${since ? ` (default ${since})` : " (default: everything)"}`,
    )
    .option("--until <time>", "before this time: ISO date/time or age (default: now)")
    .option("--user <user>", "only this user: subject, or email (any case)")
    .addOption(formatOption(["table", "csv", "json"]));
}

/** The filter the report options describe. */
export function reportFilter(
  opts: { since?: string; until?: string; user?: string },
  defaultSince: string | null = DEFAULT_SINCE,
): ReportFilter {
  const sinceText = opts.since ?? defaultSince;
  const since = sinceText ? parseTime(sinceText, "--since") : undefined;
  const until = opts.until ? parseTime(opts.until, "--until") : undefined;
  if (since && until && since >= until)
    throw new ConfigError(
      `invalid --since/--until: ${since.toISOString()} is not before ${until.toISOString()}`,
    );
  return { since, until, user: opts.user };
}

/** On a terminal, says which period a table covers (stderr, so piped output stays clean). */
function notePeriod(f: ReportFilter): void {
  if (!process.stderr.isTTY) return;
  process.stderr.write(
    `period: ${f.since ? `${utc(f.since)} UTC` : "the beginning"} – ${f.until ? `${utc(f.until)} UTC` : "now"}` +
      `${f.user ? `, user ${f.user}` : ""} (--since/--until to change)\n`,
  );
}

export function reportCommand(): Command {
  const report = new Command("report").description(
    "reports for auditors: activity per user and day, users, secrets found, exposure of one secret",
  );

  reportOptions(
    report
      .command("activity")
      .description(
        "per user and UTC day: exchanges, sessions, completions, chats, refusals, failures, secrets",
      ),
  ).action(async (opts) => {
    const config = configFrom(opts);
    const f = reportFilter(opts);
    const rows = await withReadStore(config, (store) => activityReport(store.db, f));
    notePeriod(f);
    emit(opts.format as Format, rows, (r) => ({
      day: r.day,
      user: who(r.userSubject, r.userEmail),
      exchanges: r.exchanges,
      sessions: r.sessions,
      completions: r.completions,
      chats: r.chats,
      refused: r.refused,
      failed: r.failed,
      secrets: r.findings,
      "in clear": r.findingsExposed,
      sent: bytes(r.requestBytes),
      models: r.models.join(" "),
    }));
  });

  reportOptions(
    report
      .command("users")
      .description(
        "one row per user: first and last use, active days, volume, secrets, models, client addresses",
      ),
  ).action(async (opts) => {
    const config = configFrom(opts);
    const f = reportFilter(opts);
    const rows = await withReadStore(config, (store) => usersReport(store.db, f));
    notePeriod(f);
    emit(opts.format as Format, rows, (r) => ({
      user: r.userSubject,
      email: r.userEmail,
      groups: r.groups.join(" "),
      "first (UTC)": utc(r.firstRequestAt),
      "last (UTC)": utc(r.lastRequestAt),
      days: r.activeDays,
      exchanges: r.exchanges,
      sessions: r.sessions,
      refused: r.refused,
      secrets: r.findings,
      "in clear": r.findingsExposed,
      clients: r.clientAddresses.join(" "),
    }));
  });

  reportOptions(
    report
      .command("secrets")
      .description(
        "every secret found in a prompt or completion: who, when, which rule, masked or passed in clear",
      ),
  ).action(async (opts) => {
    const config = configFrom(opts);
    const f = reportFilter(opts);
    const rows = await withReadStore(config, (store) => secretsReport(store.db, f));
    notePeriod(f);
    emit(opts.format as Format, rows, (r) => ({
      "time (UTC)": utc(r.recordedAt),
      user: who(r.userSubject, r.userEmail),
      direction: r.direction,
      rule: r.ruleId,
      action: r.action,
      "in clear": r.exposed ? "YES" : "no",
      endpoint: r.endpointKind,
      location: r.location,
      exchange: shortId(r.exchangeId),
    }));
  });

  globalOptions(
    report
      .command("exposure")
      .description(
        "was this secret ever seen? Reads secrets from stdin (one per line, never from argv), fingerprints them " +
          "with the deployment key and lists every exchange where each was seen, without printing them",
      )
      .option("--since <time>", "from this time on (default: everything)")
      .option("--until <time>", "before this time (default: now)")
      .addOption(formatOption(["table", "csv", "json"])),
  ).action(async (opts) => {
    const config = configFrom(opts);
    const f = reportFilter({ since: opts.since, until: opts.until }, null);
    requireFingerprintKey(config);
    const secrets = await readSecrets(process.stdin);
    const result = await withReadStore(config, (store) =>
      exposureReport(store.db, (s) => store.fingerprint(s), secrets, f),
    );
    const format = opts.format as Format;
    if (format === "json") {
      const summary = result.fingerprints.map((fingerprint, i) => ({
        secret: i + 1,
        fingerprint,
        seen: result.hits.filter((h) => h.secret === i + 1).length,
        inClear: result.hits.filter((h) => h.secret === i + 1 && !h.masked).length,
      }));
      process.stdout.write(`${JSON.stringify({ secrets: summary, hits: result.hits }, null, 2)}\n`);
      return;
    }
    emit(format, result.hits, (h: ExposureHit) => ({
      secret: `#${h.secret}`,
      "seen (UTC)": utc(h.seenAt),
      user: who(h.userSubject, h.userEmail),
      direction: h.direction,
      where: h.source,
      location: h.location,
      masked: h.masked ? "yes" : "NO",
      action: h.action,
      host: h.host,
      exchange: shortId(h.exchangeId),
      session: shortId(h.sessionId),
    }));
    if (format === "table") {
      const lines = result.fingerprints.map((fp, i) => {
        const hits = result.hits.filter((h) => h.secret === i + 1);
        const clear = hits.filter((h) => !h.masked).length;
        return hits.length === 0
          ? `secret #${i + 1} (${fp.slice(0, 24)}…): never seen`
          : `secret #${i + 1} (${fp.slice(0, 24)}…): seen ${hits.length} time(s), ${clear} of them in clear`;
      });
      process.stdout.write(`\n${lines.join("\n")}\n`);
    }
  });

  return report;
}

/**
 * The secrets on stdin: one per line, surrounding whitespace ignored. Refuses a terminal (a secret typed
 * there is echoed and may be logged by the terminal) and empty input, with what to do instead.
 */
export async function readSecrets(stdin: NodeJS.ReadStream): Promise<string[]> {
  if (stdin.isTTY)
    throw new ConfigError(
      "report exposure reads the secret from standard input, not from the terminal or the command line " +
        "(arguments land in shell history): pipe it in, e.g. `pbpaste | copilot-audit report exposure` or " +
        "`copilot-audit report exposure < secret.txt`",
    );
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(typeof c === "string" ? Buffer.from(c) : (c as Buffer));
  const secrets = Buffer.concat(chunks)
    .toString("utf8")
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  if (secrets.length === 0)
    throw new ConfigError(
      "report exposure: no secret on standard input (one secret per line), e.g. `pbpaste | copilot-audit report exposure`",
    );
  return secrets;
}
