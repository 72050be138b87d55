/**
 * Faults with real processes (issue 3): PostgreSQL stopped in the middle of a run, the gateway SIGKILLed in
 * the middle of streaming, tampering by a superuser. The gateway is the real CLI in a child process.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createTestDatabase,
  type FakeCopilot,
  privatePostgresAvailable,
  proxyAgent,
  runCli,
  spawnGateway,
  startFakeCopilot,
  startPrivatePostgres,
} from "@copilot-audit/testkit";
import pg from "pg";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

const tmp = () => mkdtempSync(join(tmpdir(), "faults-"));

async function setup(databaseUrl: string, dir: string, up: FakeCopilot, extra: string[] = []) {
  writeFileSync(join(dir, "upstream-ca.pem"), up.caPem);
  const args = [
    ...up.resolveArgs(),
    "--upstream-ca",
    join(dir, "upstream-ca.pem"),
    "--data-dir",
    join(dir, "data"),
    "--database-url",
    databaseUrl,
    "--instance-name",
    "faults-gw",
    ...extra,
  ];
  const gw = await spawnGateway(args, { cwd: dir, timeoutMs: 60_000 });
  const t = await runCli(["token", "--sub", "alice", "--data-dir", join(dir, "data")], { cwd: dir });
  const { readFileSync } = await import("node:fs");
  const agent = proxyAgent({
    proxy: gw.url,
    ca: readFileSync(join(dir, "certs/ca.pem"), "utf8"),
    proxyAuthorization: `Bearer ${t.stdout.trim()}`,
  });
  return { gw, agent, args };
}

async function chat(agent: ReturnType<typeof proxyAgent>, id: string, headers: Record<string, string> = {}) {
  const r = await request("https://api.githubcopilot.com/chat/completions", {
    dispatcher: agent,
    method: "POST",
    headers: { "content-type": "application/json", "x-request-id": id, ...headers },
    body: JSON.stringify({ stream: true, messages: [{ role: "user", content: `prompt ${id}` }] }),
  });
  return { status: r.statusCode, body: await r.body.text() };
}

async function health(
  url: string,
): Promise<{ store?: { database: string; spooledRows: number; queued: number } }> {
  return (await (await request(`${url}/healthz`)).body.json()) as {
    store?: { database: string; spooledRows: number; queued: number };
  };
}

describe.skipIf(!privatePostgresAvailable())("PostgreSQL stopped in the middle of a run", () => {
  let pgServer: Awaited<ReturnType<typeof startPrivatePostgres>>;
  let up: FakeCopilot;
  beforeAll(async () => {
    pgServer = await startPrivatePostgres();
    up = await startFakeCopilot();
  });
  afterAll(async () => {
    await up?.close();
    pgServer?.close();
  });

  it("loses no exchange: the gateway spools while it is down and replays when it is back", async () => {
    const dir = tmp();
    const { gw, agent } = await setup(pgServer.url, dir, up);
    try {
      const ids: string[] = [];
      const send = async (n: number, phase: string) => {
        for (let i = 0; i < n; i++) {
          const id = `${phase}-${i}`;
          ids.push(id);
          const r = await chat(agent, id);
          expect(r.status, id).toBe(200);
          expect(r.body).toContain("[DONE]");
        }
      };
      await send(10, "before");
      pgServer.stop("immediate");
      await send(10, "during");
      await vi.waitFor(async () => expect((await health(gw.url)).store?.database).toBe("down"), {
        timeout: 10_000,
      });
      expect((await health(gw.url)).store?.spooledRows).toBeGreaterThan(0);
      pgServer.start();
      await send(10, "after");
      await vi.waitFor(
        async () => {
          const h = (await health(gw.url)).store;
          expect(h?.database).toBe("up");
          expect(h?.spooledRows).toBe(0);
        },
        { timeout: 20_000, interval: 250 },
      );
      const client = new pg.Client({ connectionString: pgServer.url });
      await client.connect();
      try {
        await vi.waitFor(async () => {
          const rows = await client.query(
            "select e.client_request_id, r.outcome from exchanges e join exchange_responses r on r.exchange_id = e.id where e.client_request_id = any($1)",
            [ids],
          );
          expect(rows.rows).toHaveLength(ids.length);
          expect(new Set(rows.rows.map((r) => r.outcome))).toEqual(new Set(["completed"]));
        });
        // Replay is idempotent: no request recorded twice.
        const dup = await client.query(
          "select client_request_id from exchanges where client_request_id = any($1) group by 1 having count(*) > 1",
          [ids],
        );
        expect(dup.rows).toEqual([]);
      } finally {
        await client.end();
      }
    } finally {
      await gw.stop();
      await agent.close();
    }
    const v = await runCli(["verify", "--database-url", pgServer.url, "--data-dir", join(dir, "data")]);
    expect(v.stdout).toMatch(/^OK: \d+ audit rows in \d+ chain\(s\) verified; every link intact/);
    expect(v.code).toBe(0);
  });
});

describe("the gateway killed with SIGKILL in the middle of streaming", () => {
  it("has a record of every request that reached the upstream; the interrupted ones show incomplete", async () => {
    const db = await createTestDatabase({ backend: "pg" }).catch(() => null);
    const dbUrl = db?.url;
    if (!dbUrl) return; // no PostgreSQL here: the store suite covers PGlite recovery
    const dir = tmp();
    const up = await startFakeCopilot();
    const first = await setup(dbUrl, dir, up);
    try {
      const done = await chat(first.agent, "kill-done");
      expect(done.status).toBe(200);
      const streams = ["kill-1", "kill-2", "kill-3"].map((id) =>
        chat(first.agent, id, { "x-testkit-delay-ms": "300" }).catch((e: Error) => ({
          status: -1,
          body: e.message,
        })),
      );
      await vi.waitFor(() =>
        expect(
          up.requests.filter((r) => r.requestId?.startsWith("kill-") && r.requestId !== "kill-done"),
        ).toHaveLength(3),
      );
      await new Promise((r) => setTimeout(r, 400)); // mid-stream
      await first.gw.stop("SIGKILL");
      const results = await Promise.all(streams);
      for (const r of results) expect(r.body).not.toContain("[DONE]");
      // The next start of the same instance marks what the killed one left open.
      const second = await spawnGateway(first.args, { cwd: dir, timeoutMs: 60_000 });
      try {
        const client = new pg.Client({ connectionString: dbUrl });
        await client.connect();
        try {
          const seen = up.requests
            .map((r) => r.requestId)
            .filter((id): id is string => Boolean(id?.startsWith("kill-")));
          expect(seen.sort()).toEqual(["kill-1", "kill-2", "kill-3", "kill-done"]);
          await vi.waitFor(
            async () => {
              const rows = await client.query(
                "select e.client_request_id as id, r.outcome from exchanges e left join exchange_responses r on r.exchange_id = e.id where e.client_request_id = any($1) order by 1",
                [seen],
              );
              expect(rows.rows).toEqual([
                { id: "kill-1", outcome: "incomplete" },
                { id: "kill-2", outcome: "incomplete" },
                { id: "kill-3", outcome: "incomplete" },
                { id: "kill-done", outcome: "completed" },
              ]);
            },
            { timeout: 15_000 },
          );
        } finally {
          await client.end();
        }
      } finally {
        await second.stop();
      }
      const v = await runCli(["verify", "--database-url", dbUrl, "--data-dir", join(dir, "data")]);
      expect(v.code).toBe(0);
      expect(v.stdout).toMatch(/^OK: /);
    } finally {
      await first.agent.close();
      await up.close();
      await db?.drop();
    }
  });
});

describe("tampering", () => {
  it("refuses UPDATE and DELETE on audit rows; verify reports a row a superuser altered with triggers off", async () => {
    const db = await createTestDatabase({ backend: "pg" }).catch(() => null);
    if (!db?.url) return;
    try {
      await tamper(db.url);
    } finally {
      await db.drop();
    }
  });
});

async function tamper(url: string): Promise<void> {
  {
    const db = { url };
    const dir = tmp();
    const up = await startFakeCopilot();
    const s = await setup(db.url, dir, up);
    try {
      expect((await chat(s.agent, "tamper-1")).status).toBe(200);
      expect((await chat(s.agent, "tamper-2")).status).toBe(200);
    } finally {
      await s.gw.stop();
      await s.agent.close();
      await up.close();
    }
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await expect(
        client.query(
          "update exchanges set prompt_text = 'nothing to see' where client_request_id = 'tamper-1'",
        ),
      ).rejects.toThrow(/append-only/);
      await expect(
        client.query("delete from exchanges where client_request_id = 'tamper-1'"),
      ).rejects.toThrow(/append-only/);
      await expect(client.query("truncate exchange_responses")).rejects.toThrow(/append-only/);
      expect((await runCli(["verify", "--database-url", db.url, "--data-dir", join(dir, "data")])).code).toBe(
        0,
      );
      await client.query("set session_replication_role = replica");
      await client.query(
        "update exchanges set prompt_text = 'nothing to see' where client_request_id = 'tamper-1'",
      );
      await client.query("set session_replication_role = origin");
    } finally {
      await client.end();
    }
    const v = await runCli(["verify", "--database-url", db.url, "--data-dir", join(dir, "data")]);
    expect(v.code).toBe(1);
    expect(v.stdout).toMatch(/^BROKEN: the row's content does not match its hash: it was altered\n/);
    expect(v.stdout).toMatch(/hash_mismatch at seq \d+ \(exchanges [0-9a-f-]{36}\)/);
  }
}
