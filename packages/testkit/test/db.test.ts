import pg from "pg";
import { describe, expect, it } from "vitest";
import { backends, containerRuntimeAvailable, createTestDatabase } from "../src/db.js";

describe("test databases", () => {
  it("probes for a container runtime quickly and never throws", async () => {
    const started = Date.now();
    expect(typeof (await containerRuntimeAvailable())).toBe("boolean");
    expect(Date.now() - started).toBeLessThan(6_000);
  });

  it("backends() always includes pglite, and pg exactly when a server is available", async () => {
    const list = await backends();
    expect(list).toContain("pglite");
    const server = !!process.env.TEST_DATABASE_URL || (await containerRuntimeAvailable());
    expect(list.includes("pg")).toBe(server);
  });

  it("backend pglite gives no URL and a no-op drop", async () => {
    const db = await createTestDatabase({ backend: "pglite" });
    expect(db).toMatchObject({ kind: "pglite", url: undefined });
    await db.drop();
  });

  it.runIf(!!process.env.TEST_DATABASE_URL)(
    "creates a fresh database on TEST_DATABASE_URL and drops it, even with clients left connected",
    async () => {
      const db = await createTestDatabase();
      expect(db.kind).toBe("pg");
      const name = new URL(db.url as string).pathname.slice(1);
      expect(name).toMatch(/^ca_test_/);
      const client = new pg.Client({ connectionString: db.url });
      client.on("error", () => {});
      await client.connect();
      const r = await client.query("SELECT current_database() AS d");
      expect(r.rows[0].d).toBe(name);
      await db.drop();
      const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
      await admin.connect();
      const left = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
      await admin.end();
      expect(left.rowCount).toBe(0);
      await client.end().catch(() => {});
    },
  );

  it.runIf(!process.env.TEST_DATABASE_URL)(
    "without a server, backend pg is refused clearly when no container runtime exists",
    async () => {
      if (await containerRuntimeAvailable()) return;
      await expect(createTestDatabase({ backend: "pg" })).rejects.toThrow(/TEST_DATABASE_URL/);
      expect((await createTestDatabase()).kind).toBe("pglite");
    },
  );
});
