import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DatabaseLockedError, openStore } from "../src/index.js";
import { acquireDbLock } from "../src/pglite-lock.js";
import { pgliteTemplate } from "./helpers.js";

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "copilot-audit-lock-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function deadPid(): number {
  return Number(
    spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString(),
  );
}

describe("embedded database lock", () => {
  it("writes pid and host, and removes the file on release", async () => {
    const dir = tmp();
    const lock = await acquireDbLock(dir);
    const owner = JSON.parse(readFileSync(join(dir, "db.lock"), "utf8"));
    expect(owner).toMatchObject({ pid: process.pid, host: hostname() });
    await lock.release();
    expect(existsSync(join(dir, "db.lock"))).toBe(false);
  });

  it("refuses a second owner while the first is alive, naming its pid and DATABASE_URL", async () => {
    const dir = tmp();
    const lock = await acquireDbLock(dir);
    const err = await acquireDbLock(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseLockedError);
    expect(err).toMatchObject({ code: "database_locked", ownerPid: process.pid });
    expect((err as Error).message).toContain(`process ${process.pid}`);
    expect((err as Error).message).toContain("DATABASE_URL");
    await lock.release();
    await (await acquireDbLock(dir)).release();
  });

  it("takes over a stale lock left by a dead process on this host", async () => {
    const dir = tmp();
    const pid = deadPid();
    writeFileSync(
      join(dir, "db.lock"),
      JSON.stringify({ pid, host: hostname(), token: "old", startedAt: "x" }),
    );
    const lock = await acquireDbLock(dir);
    expect(JSON.parse(readFileSync(join(dir, "db.lock"), "utf8")).pid).toBe(process.pid);
    await lock.release();
  });

  it("takes over an empty lock file (a crash while writing it)", async () => {
    const dir = tmp();
    writeFileSync(join(dir, "db.lock"), "");
    const lock = await acquireDbLock(dir);
    await lock.release();
  });

  it("refuses a lock held from another host (its process cannot be checked)", async () => {
    const dir = tmp();
    writeFileSync(
      join(dir, "db.lock"),
      JSON.stringify({ pid: 1, host: "other-host", token: "t", startedAt: "x" }),
    );
    await expect(acquireDbLock(dir)).rejects.toMatchObject({
      code: "database_locked",
      ownerHost: "other-host",
    });
  });

  it("of several concurrent takers of one stale lock, exactly one wins", async () => {
    const dir = tmp();
    writeFileSync(
      join(dir, "db.lock"),
      JSON.stringify({ pid: deadPid(), host: hostname(), token: "old", startedAt: "x" }),
    );
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => acquireDbLock(dir)));
    const won = results.filter((r) => r.status === "fulfilled");
    expect(won).toHaveLength(1);
    for (const r of results)
      if (r.status === "rejected") expect(r.reason).toMatchObject({ code: "database_locked" });
    await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireDbLock>>>).value.release();
  });

  it("a second openStore on the same data dir is refused with database_locked", async () => {
    const dir = tmp();
    cpSync(await pgliteTemplate(), join(dir, "db"), { recursive: true });
    const first = await openStore({ dataDir: dir });
    try {
      expect(first.kind).toBe("pglite");
      await expect(openStore({ dataDir: dir })).rejects.toMatchObject({
        code: "database_locked",
        ownerPid: process.pid,
      });
    } finally {
      await first.close();
    }
    expect(existsSync(join(dir, "db.lock"))).toBe(false);
  });
});
