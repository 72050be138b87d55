import { type Logger, type LoggerOptions, pino } from "pino";

/**
 * The gateway's logger: pino JSON, pretty when stderr is a TTY. Auth headers are redacted by path as a
 * second line of defence; the code never passes tokens, keys or bodies to the logger in the first place.
 */
export function createLogger(opts: { level?: string; pretty?: boolean; destination?: number } = {}): Logger {
  const pretty = opts.pretty ?? Boolean(process.stderr.isTTY);
  const options: LoggerOptions = {
    level: opts.level ?? process.env.LOG_LEVEL ?? "info",
    base: { service: "copilot-audit" },
    redact: {
      paths: [
        "headers.authorization",
        "headers.proxy-authorization",
        "headers.cookie",
        'headers["set-cookie"]',
        "*.headers.authorization",
        '*.headers["proxy-authorization"]',
        "token",
        "*.token",
      ],
      censor: "[redacted]",
    },
  };
  if (pretty) {
    return pino({
      ...options,
      transport: { target: "pino-pretty", options: { destination: opts.destination ?? 2, colorize: true } },
    });
  }
  return pino(options, pino.destination({ fd: opts.destination ?? 2, sync: false }));
}

export type { Logger };
