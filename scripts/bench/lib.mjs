// Shared benchmark helpers: child processes, a closed-loop load generator on undici, statistics.
import { spawn } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { performance } from "node:perf_hooks";
import { request } from "undici";

export const root = new URL("../../", import.meta.url).pathname;

export function machine() {
  const c = cpus();
  return `${c.length} × ${c[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}`;
}

const children = new Set();
// Never leave a server behind: a crashed benchmark that orphans mitmdump pollutes every later measurement.
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(130));

/** Starts a child process and waits until a stdout/stderr line matches; resolves with the match. */
export function startProcess(
  cmd,
  args,
  { match, env = {}, cwd = root, timeoutMs = 30_000, name = cmd } = {},
) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.add(child);
    child.once("exit", () => children.delete(child));
    let seen = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${name} did not start in ${timeoutMs} ms:\n${seen.slice(-3000)}`));
    }, timeoutMs);
    const onData = (d) => {
      seen += d.toString();
      const m = match.exec(seen);
      if (m) {
        clearTimeout(timer);
        child.stdout.removeListener("data", onData);
        child.stderr.removeListener("data", onData);
        child.stdout.resume();
        child.stderr.resume();
        resolve({ child, match: m, stop: () => stop(child) });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before starting:\n${seen.slice(-3000)}`));
    });
  });
}

export function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 5000).unref();
  });
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * Closed loop: `concurrency` workers send requests back to back for `durationMs` after a warm-up.
 * `complete(text)` (optional) checks a response body that must be read whole (e.g. an SSE stream's [DONE]).
 */
export async function load({
  dispatcher,
  url,
  concurrency,
  durationMs,
  warmupMs = 1000,
  headers = {},
  method = "GET",
  body,
  complete,
}) {
  const one = async () => {
    const t = performance.now();
    const r = await request(url, { dispatcher, headers, method, body });
    if (complete) {
      if (!complete(await r.body.text())) throw new Error("incomplete response");
    } else {
      await r.body.dump({ limit: Number.POSITIVE_INFINITY });
    }
    if (r.statusCode !== 200) throw new Error(`status ${r.statusCode}`);
    return performance.now() - t;
  };
  const run = async (ms, record) => {
    const until = performance.now() + ms;
    const latencies = [];
    let errors = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < until) {
          try {
            const l = await one();
            if (record) latencies.push(l);
          } catch {
            errors++;
          }
        }
      }),
    );
    return { latencies, errors };
  };
  await run(warmupMs, false);
  const started = performance.now();
  const { latencies, errors } = await run(durationMs, true);
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors,
    rps: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

/** An SSE chat stream request for load(): POST, JSON body, complete when [DONE] arrived. */
export const chatStream = {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ messages: [{ role: "user", content: "write fib in python" }], stream: true }),
  complete: (text) => text.includes("[DONE]"),
};

/** Median of several runs of an async measurement returning a number. */
export async function medianOf(n, fn) {
  const xs = [];
  for (let i = 0; i < n; i++) xs.push(await fn());
  xs.sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)];
}

export const fmt = (x, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : "n/a");
