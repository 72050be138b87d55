/**
 * A private, throwaway PostgreSQL cluster (initdb + pg_ctl in a temp dir, its own port) that a test may
 * stop and start for real — unlike the shared server other tests use at the same time. Runs as the
 * `postgres` OS user when the test runs as root (PostgreSQL refuses root).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";

export interface PrivatePostgres {
  url: string;
  port: number;
  /** `immediate` = crash-like (no checkpoint); `fast` = clean. */
  stop(mode?: "immediate" | "fast"): void;
  start(): void;
  close(): void;
}

function binDir(): string | null {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (existsSync(join(root, v, "bin", "pg_ctl"))) return join(root, v, "bin");
  return null;
}

const asRoot = userInfo().uid === 0;

/** Whether a private cluster can be made here (PostgreSQL server binaries, and runuser when root). */
export function privatePostgresAvailable(): boolean {
  if (!binDir()) return false;
  if (asRoot && spawnSync("id", ["postgres"], { stdio: "ignore" }).status !== 0) return false;
  return true;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as import("node:net").AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = binDir();
  if (!bin) throw new Error("PostgreSQL server binaries not found under /usr/lib/postgresql");
  const dir = mkdtempSync(join(tmpdir(), "copilot-audit-pg-"));
  const data = join(dir, "data");
  const port = await freePort();
  const run = (cmd: string, args: string[]) => {
    const argv = asRoot ? ["-u", "postgres", "--", join(bin, cmd), ...args] : args;
    return execFileSync(asRoot ? "runuser" : join(bin, cmd), argv, { stdio: "pipe", cwd: dir });
  };
  if (asRoot)
    chownSync(
      dir,
      Number(execFileSync("id", ["-u", "postgres"]).toString().trim()),
      Number(execFileSync("id", ["-g", "postgres"]).toString().trim()),
    );
  run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`;
  const start = () => {
    run("pg_ctl", ["start", "-w", "-t", "30", "-D", data, "-l", join(dir, "log"), "-o", opts]);
  };
  start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop: (mode = "immediate") => {
      run("pg_ctl", ["stop", "-w", "-D", data, "-m", mode]);
    },
    start,
    close: () => {
      try {
        run("pg_ctl", ["stop", "-w", "-D", data, "-m", "immediate"]);
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
