/**
 * Test databases. With TEST_DATABASE_URL: a fresh, uniquely named database on that server per call (dropped
 * by `drop()`). Else, when a container runtime answers: a testcontainers `postgres:16-alpine`. Else PGlite
 * (`url: undefined`: open the store with `memory://`). `backends()` lists what a suite can run on.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

export type TestBackend = "pg" | "pglite";

export interface TestDatabase {
  /** "pg": a database on TEST_DATABASE_URL's server; "container": a testcontainers server; "pglite": none. */
  kind: "pg" | "container" | "pglite";
  /** Connection URL of the fresh database; undefined for pglite. */
  url: string | undefined;
  /** Drops the database (terminating leftover connections) or stops the container. Idempotent. */
  drop(): Promise<void>;
}

let dockerProbe: Promise<boolean> | undefined;

/** Whether a container runtime (Docker, Podman, …) is reachable; probed once per process, quickly. */
export function containerRuntimeAvailable(): Promise<boolean> {
  dockerProbe ??= (async () => {
    try {
      const { getContainerRuntimeClient } = await import("testcontainers");
      const probe = getContainerRuntimeClient().then(
        () => true,
        () => false,
      );
      const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5_000).unref());
      return await Promise.race([probe, timeout]);
    } catch {
      return false;
    }
  })();
  return dockerProbe;
}

/** Backends a store suite should run on: always "pglite"; "pg" when TEST_DATABASE_URL is set or Docker answers. */
export async function backends(): Promise<TestBackend[]> {
  if (process.env.TEST_DATABASE_URL) return ["pg", "pglite"];
  return (await containerRuntimeAvailable()) ? ["pg", "pglite"] : ["pglite"];
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function adminQuery(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

async function createOn(
  serverUrl: string,
  kind: "pg" | "container",
  stop?: () => Promise<void>,
): Promise<TestDatabase> {
  const name = `ca_test_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  await adminQuery(serverUrl, `CREATE DATABASE "${name}"`);
  let dropped = false;
  return {
    kind,
    url: withDatabase(serverUrl, name),
    async drop() {
      if (dropped) return;
      dropped = true;
      try {
        await adminQuery(
          serverUrl,
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}' AND pid <> pg_backend_pid()`,
        );
        await adminQuery(serverUrl, `DROP DATABASE IF EXISTS "${name}"`);
      } finally {
        await stop?.();
      }
    },
  };
}

/**
 * A fresh database for one suite. `backend: "pglite"` skips the server lookup; `backend: "pg"` requires a
 * server (TEST_DATABASE_URL or a container) and throws when there is none.
 */
export async function createTestDatabase(opts: { backend?: TestBackend } = {}): Promise<TestDatabase> {
  const pglite: TestDatabase = { kind: "pglite", url: undefined, drop: async () => {} };
  if (opts.backend === "pglite") return pglite;
  const server = process.env.TEST_DATABASE_URL;
  if (server) return createOn(server, "pg");
  if (await containerRuntimeAvailable()) {
    const { PostgreSqlContainer } = await import("@testcontainers/postgresql");
    const container = await new PostgreSqlContainer("postgres:16-alpine").start();
    return createOn(container.getConnectionUri(), "container", async () => {
      await container.stop();
    });
  }
  if (opts.backend === "pg")
    throw new Error("no PostgreSQL for tests: set TEST_DATABASE_URL or start Docker");
  return pglite;
}
