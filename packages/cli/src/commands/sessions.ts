import { setTimeout as sleep } from "node:timers/promises";
import {
  ExchangeTail,
  listSessions,
  type SessionFilter,
  sessionTranscript,
  type TailEvent,
} from "@copilot-audit/store";
import { Command, Option } from "commander";
import { ConfigError } from "../config.js";
import { parseDuration } from "../durations.js";
import { configFrom, formatOption, globalOptions } from "../options.js";
import { bytes, emit, type Format, millis, shortId, utc, who } from "../tabular.js";
import { parseTime } from "../time.js";
import { renderTranscript } from "../transcript-text.js";
import { withReadStore } from "./read-store.js";
import { reportFilter } from "./report.js";

// `copilot-audit sessions list|show|tail`: client connections, one session's transcript, and a live view of
// new exchanges. Views only (works for a copilot_audit_reader login).

function positiveInt(text: string, flag: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1)
    throw new ConfigError(`invalid ${flag} "${text}": expected a positive integer`);
  return Number(text);
}

export function sessionsCommand(): Command {
  const sessions = new Command("sessions").description(
    "client connections: list them, show one as a transcript, follow new exchanges live",
  );

  globalOptions(
    sessions
      .command("list")
      .description("sessions (client connections), newest first")
      .option("--since <time>", "opened from this time on: ISO date/time or age (7d, 24h)")
      .option("--until <time>", "opened before this time")
      .option("--user <user>", "only this user: subject, or email (any case)")
      .option("--host <host>", "only connections to this host (the CONNECT target)")
      .option("--client <address>", "only connections from this client address")
      .addOption(new Option("--mode <mode>", "only this kind").choices(["intercept", "tunnel", "refused"]))
      .option("--open", "only sessions without a close (still open, or cut by a crash)")
      .option("--limit <n>", "at most this many (default 50)")
      .addOption(formatOption(["table", "csv", "json"])),
  ).action(async (opts) => {
    const config = configFrom(opts);
    const f: SessionFilter = {
      ...reportFilter(opts, null),
      host: opts.host,
      client: opts.client,
      mode: opts.mode,
      open: opts.open === true,
      limit: opts.limit ? positiveInt(opts.limit, "--limit") : 50,
    };
    const rows = await withReadStore(config, (store) => listSessions(store.db, f));
    emit(opts.format as Format, rows, (s) => ({
      session: shortId(s.sessionId),
      "opened (UTC)": utc(s.openedAt),
      duration: s.closedAt ? millis(s.durationMs) : "open",
      user: who(s.userSubject, s.userEmail),
      client: s.clientAddress,
      target: `${s.targetHost}:${s.targetPort}`,
      mode: s.mode,
      exchanges: s.exchangesRecorded,
      secrets: s.findings,
      "in/out": s.bytesFromClient === null ? "" : `${bytes(s.bytesFromClient)}/${bytes(s.bytesToClient)}`,
      end: s.refusal ? `refused ${s.refusal.code ?? s.refusal.status}` : (s.closeReason ?? ""),
    }));
  });

  globalOptions(
    sessions
      .command("show")
      .description(
        "one session as a chronological transcript: each request and response in wire order, with headers, " +
          "masked bodies, secrets found and timings",
      )
      .argument("<id>", "session id, or its first or last characters (at least 4; tables show the last 12)")
      .option("--full", "show bodies whole (default: the first 4000 characters of each)")
      .addOption(formatOption(["table", "json"])),
  ).action(async (id: string, opts) => {
    const config = configFrom(opts);
    const t = await withReadStore(config, (store) => sessionTranscript(store.db, id));
    if (opts.format === "json") process.stdout.write(`${JSON.stringify(t, null, 2)}\n`);
    else process.stdout.write(renderTranscript(t, { full: opts.full === true }));
  });

  globalOptions(
    sessions
      .command("tail")
      .description(
        "follow new exchanges as they are recorded, like tail -f (polls the database; Ctrl-C stops). " +
          "Works against PostgreSQL while gateways write; the embedded database allows one process at a time",
      )
      .option("--since <time>", "start with the exchanges from this time on (default: the last --initial)")
      .option("--initial <n>", "how many recent exchanges to show first (default 10)")
      .option("--user <user>", "only this user: subject, or email (any case)")
      .option("--host <host>", "only this Copilot host")
      .option("--interval <duration>", "how often to poll (default 1s)")
      .addOption(formatOption(["table", "json"])),
  ).action(async (opts) => {
    const config = configFrom(opts);
    const intervalMs = Math.max(100, parseDuration(opts.interval ?? "1s", "--interval"));
    const since = opts.since ? parseTime(opts.since, "--since") : undefined;
    const initial = opts.initial ? positiveInt(opts.initial, "--initial") : 10;
    const json = opts.format === "json";
    await withReadStore(
      config,
      async (store) => {
        const tail = new ExchangeTail(store.db, { since, initial, user: opts.user, host: opts.host });
        let stop = false;
        let wake: (() => void) | null = null;
        const onSignal = () => {
          stop = true;
          wake?.();
        };
        process.once("SIGINT", onSignal);
        process.once("SIGTERM", onSignal);
        let failing = false;
        try {
          while (!stop) {
            try {
              for (const e of await tail.poll())
                process.stdout.write(json ? `${JSON.stringify(e)}\n` : tailLine(e));
              if (failing) process.stderr.write("copilot-audit: database reachable again\n");
              failing = false;
            } catch (err) {
              if (!failing)
                process.stderr.write(
                  `copilot-audit: cannot read new exchanges (${(err as Error).message}); retrying\n`,
                );
              failing = true;
            }
            if (stop) break;
            const ac = new AbortController();
            wake = () => ac.abort();
            await sleep(intervalMs, undefined, { signal: ac.signal }).catch(() => undefined);
            wake = null;
          }
        } finally {
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
        }
      },
      { progress: false },
    );
  });

  return sessions;
}

const oneLine = (s: string | null, max = 60) => {
  if (!s) return "";
  const t = s.replace(/\s+/g, " ").trim();
  return JSON.stringify(t.length > max ? `${t.slice(0, max - 1)}…` : t);
};

/** One line per event: `→` a request was recorded, `←` its exchange ended. */
export function tailLine(e: TailEvent): string {
  const x = e.exchange;
  const user = who(x.userSubject, x.userEmail).padEnd(20);
  if (e.event === "request") {
    const what = [x.endpointKind, x.model].filter(Boolean).join(" ");
    return `${utc(x.requestedAt)} → ${user} ${x.method} ${x.host}${x.path}  ${what}  ${oneLine(x.promptExcerpt)}\n`;
  }
  const secrets = x.findings > 0 ? `  ${x.findings} secret(s)` : "";
  return `${utc(x.endedAt)} ← ${user} ${x.status ?? "–"} ${x.outcome ?? ""} ${millis(x.durationMs)}${secrets}  ${oneLine(x.completionExcerpt)}\n`;
}
