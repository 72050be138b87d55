/** Runs the real `copilot-audit` CLI as a child process (the built bin), for end-to-end tests and benchmarks. */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** Path of the CLI entry point in this repository. */
export const CLI_BIN = fileURLToPath(new URL("../../cli/bin/copilot-audit.js", import.meta.url));

export interface GatewayProcess {
  child: ChildProcess;
  port: number;
  url: string;
  /** Every JSON log line so far. */
  logs: Array<Record<string, unknown>>;
  /** Raw stderr text (non-JSON lines included). */
  stderr(): string;
  waitForLog(
    pred: (l: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Sends a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a CLI command to completion. */
export function runCli(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], {
      cwd: opts.cwd,
      env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? "info", ...opts.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? "");
  });
}

/** Starts `copilot-audit start <args>` and resolves once it logs that it is listening. */
export function spawnGateway(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<GatewayProcess> {
  const child = spawn(process.execPath, [CLI_BIN, "start", "--listen", "127.0.0.1:0", ...args], {
    cwd: opts.cwd,
    env: { ...process.env, LOG_LEVEL: process.env.GATEWAY_LOG_LEVEL ?? "info", ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Array<Record<string, unknown>> = [];
  let raw = "";
  let pending = "";
  const waiters: Array<{
    pred: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }> = [];
  child.stderr?.on("data", (d: Buffer) => {
    raw += d.toString();
    pending += d.toString();
    let nl = pending.indexOf("\n");
    while (nl >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      nl = pending.indexOf("\n");
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        for (const w of [...waiters]) {
          if (w.pred(entry)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(entry);
          }
        }
      } catch {
        // not JSON: kept in raw
      }
    }
  });
  child.stdout?.resume();
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? (signal ? null : 0))),
  );
  const waitForLog = (pred: (l: Record<string, unknown>) => boolean, timeoutMs = 15_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const found = logs.find(pred);
      if (found) return resolve(found);
      const timer = setTimeout(
        () => reject(new Error(`gateway log not seen in ${timeoutMs} ms; stderr:\n${raw.slice(-4000)}`)),
        timeoutMs,
      );
      waiters.push({
        pred,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`gateway exited (${code}) before the expected log; stderr:\n${raw.slice(-4000)}`));
      });
    });
  return waitForLog((l) => l.msg === "copilot-audit listening", opts.timeoutMs ?? 30_000).then((l) => {
    const port = Number(l.port);
    return {
      child,
      port,
      url: `http://127.0.0.1:${port}`,
      logs,
      stderr: () => raw,
      waitForLog,
      stop: async (signal: NodeJS.Signals = "SIGTERM") => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        return exited;
      },
    };
  });
}
