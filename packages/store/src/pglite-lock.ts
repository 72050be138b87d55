import { randomBytes } from "node:crypto";
import { mkdir, readFile, rm, rmdir, stat, unlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { DatabaseLockedError } from "./errors.js";

// One owning process for an embedded PGlite data directory (PGlite has no lock of its own and a second
// opener corrupts it). `<dataDir>/db.lock` holds {pid, host, token}. A lock left by a dead process on this
// host is taken over (under a `db.lock.takeover` mkdir mutex so two starters cannot both take it);
// a live owner, or an owner on another host, is refused with DatabaseLockedError.

interface LockOwner {
  pid: number;
  host: string;
  token: string;
  startedAt: string;
}

export interface DbLock {
  readonly path: string;
  release(): Promise<void>;
}

export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function readOwner(path: string): Promise<LockOwner | "missing" | "garbled"> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "missing";
    throw err;
  }
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (typeof o.pid === "number" && typeof o.host === "string" && typeof o.token === "string")
      return o as LockOwner;
  } catch {
    // fall through
  }
  return "garbled";
}

const TAKEOVER_STALE_MS = 10_000;

async function withTakeoverMutex<T>(lockPath: string, fn: () => Promise<T>): Promise<T | "busy"> {
  const dir = `${lockPath}.takeover`;
  try {
    await mkdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    const st = await stat(dir).catch(() => null);
    if (st && Date.now() - st.mtimeMs > TAKEOVER_STALE_MS) await rmdir(dir).catch(() => {});
    return "busy";
  }
  try {
    return await fn();
  } finally {
    await rmdir(dir).catch(() => {});
  }
}

/** Takes `<dataDir>/db.lock` for this process or throws DatabaseLockedError. */
export async function acquireDbLock(dataDir: string): Promise<DbLock> {
  await mkdir(dataDir, { recursive: true });
  const path = join(dataDir, "db.lock");
  const me: LockOwner = {
    pid: process.pid,
    host: hostname(),
    token: randomBytes(8).toString("hex"),
    startedAt: new Date().toISOString(),
  };
  let garbledSeen = 0;
  for (let attempt = 0; attempt < 200; attempt++) {
    try {
      await writeFile(path, JSON.stringify(me), { flag: "wx", mode: 0o644 });
      return { path, release: () => releaseLock(path, me.token) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const owner = await readOwner(path);
    if (owner === "missing") continue;
    if (owner === "garbled") {
      // Either being written right now by another starter, or left empty by a crash: give it a moment.
      if (++garbledSeen < 10) {
        await sleep(20);
        continue;
      }
    } else {
      if (owner.host !== me.host || isProcessAlive(owner.pid))
        throw new DatabaseLockedError(path, owner.pid, owner.host);
    }
    const stale = owner;
    const taken = await withTakeoverMutex(path, async () => {
      const now = await readOwner(path);
      const same =
        now === stale || (typeof now === "object" && typeof stale === "object" && now.token === stale.token);
      if (same) await unlink(path).catch(() => {});
      return true;
    });
    if (taken === "busy") await sleep(20);
    garbledSeen = 0;
  }
  throw new DatabaseLockedError(path, 0, "unknown (could not take the lock)");
}

async function releaseLock(path: string, token: string): Promise<void> {
  const owner = await readOwner(path);
  if (typeof owner === "object" && owner.token === token) await rm(path, { force: true });
}
