/**
 * `copilot-audit sessions list|show|tail` as a user runs them (the built binary), against a database filled
 * through the gateway. `tail` runs against PostgreSQL while the gateway writes.
 */
import { spawn } from "node:child_process";
import { backends, CLI_BIN } from "@copilot-audit/testkit";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type AuditFixture, fillThroughGateway } from "../../store/test/gateway-fixture.js";
import { audit, type DbLocation, dbArgs } from "./helpers.js";

const all = await backends();

// The CLI layer is the same on both backends (the store suites cover both): PostgreSQL when there is one.
describe.each(all.includes("pg") ? (["pg"] as const) : (["pglite"] as const))(
  "copilot-audit sessions list and show (%s)",
  (backend) => {
    let f: AuditFixture;
    let db: DbLocation;
    let chatSession: string;
    const pg = backend === "pg";

    beforeAll(async () => {
      f = await fillThroughGateway(backend);
      const row = await f.db.store.db
        .selectFrom("audit_exchanges")
        .select("session_id")
        .where("client_request_id", "=", "alice-chat-1")
        .executeTakeFirstOrThrow();
      chatSession = row.session_id as string;
      await f.release();
      db = { dataDir: f.db.dataDir, url: f.db.url };
    });
    afterAll(async () => {
      await f?.close();
    });

    it("show: a transcript in wire order with headers, masked bodies, secrets and timings", async () => {
      const r = await audit(db, ["sessions", "show", chatSession.slice(-12)]);
      expect(r.code).toBe(0);
      const text = r.stdout;
      expect(text).toMatch(
        new RegExp(`^Session ${chatSession}\\n  user      alice <alice@example.com> \\(groups: dev\\)\\n`),
      );
      expect(text).toMatch(/ {2}client {4}127\.0\.0\.1:\d+ → api\.githubcopilot\.com:443 \(intercept\)/);
      const positions = f.aliceWireOrder.map((id) => text.indexOf(`request id ${id}\n`));
      expect(positions.every((p) => p > 0)).toBe(true);
      expect(positions).toEqual([...positions].sort((a, b) => a - b));
      expect(text).toMatch(
        /#1 {2}POST https:\/\/api\.githubcopilot\.com\/chat\/completions {3}chat · gpt-4o-mini · request id alice-chat-1/,
      );
      expect(text).toMatch(
        /requested \d\d:\d\d:\d\d\.\d{3} {2}first byte \d+ ms {2}ended \+\d+ ms {2}→ 200 completed/,
      );
      expect(text).toContain('"content": "why does aws_access_key_id=[REDACTED:aws-access-key-id] fail?"');
      expect(text).toMatch(
        /! request secrets\n {6}aws-access-key-id at \$\.messages\[0\]\.content \[27\+20\] masked {2}hmac-sha256:/,
      );
      expect(text).toContain("  < completion\n      use this: [REDACTED:github-pat] and go\n");
      expect(text).toMatch(/→ 429 completed/);
      expect(text).toContain("      content-type: application/json\n");
      expect(text).not.toContain(f.secrets.alicePrompt);
      if (!pg) return;
      const json = JSON.parse(
        (await audit(db, ["sessions", "show", chatSession, "--format", "json"])).stdout,
      ) as {
        session: { sessionId: string };
        exchanges: Array<{ clientRequestId: string; seq: number; findings: unknown[] }>;
      };
      expect(json.exchanges.map((e) => e.clientRequestId)).toEqual(f.aliceWireOrder);
      expect(json.exchanges.map((e) => e.findings.length)).toEqual([0, 1, 1, 0]);
      const unknown = await audit(db, ["sessions", "show", "ffffffffffff"]);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toBe("copilot-audit: error: no session ffffffffffff\n");
    });

    it("list: newest first, filtered, in every format", async () => {
      const json = await audit(db, ["sessions", "list", "--user", "alice", "--format", "json"]);
      expect(json.code).toBe(0);
      const rows = JSON.parse(json.stdout) as Array<{
        sessionId: string;
        userSubject: string;
        targetHost: string;
        exchangesRecorded: number;
      }>;
      expect(new Set(rows.map((r) => r.userSubject))).toEqual(new Set(["alice"]));
      expect(rows.find((r) => r.sessionId === chatSession)?.exchangesRecorded).toBe(4);
      if (!pg) return;
      const table = await audit(db, ["sessions", "list", "--host", "api.githubcopilot.com"]);
      expect(table.stdout).toMatch(/^session\s+opened \(UTC\)\s+duration\s+user/);
      expect(table.stdout.trimEnd().split("\n")).toHaveLength(2 + 4); // alice's conversation, bob's three
      expect(table.stdout).toContain(chatSession.slice(-12));
      // One session reads best as a record.
      const one = await audit(db, ["sessions", "list", "--host", "api.githubcopilot.com", "--user", "alice"]);
      expect(one.stdout).toMatch(new RegExp(`^session {7}${chatSession.slice(-12)}\nopened \\(UTC\\) {2}`));
      const csv = await audit(db, ["sessions", "list", "--mode", "tunnel", "--format", "csv"]);
      expect(csv.stdout).toBe("");
      const bad = await audit(db, ["sessions", "list", "--limit", "0"]);
      expect(bad.code).toBe(2);
    });
  },
);

describe.runIf(all.includes("pg"))(
  "copilot-audit sessions tail against PostgreSQL while the gateway writes",
  () => {
    let f: AuditFixture;

    beforeAll(async () => {
      f = await fillThroughGateway("pg");
    });
    afterAll(async () => {
      await f?.close();
    });

    it("shows the last exchanges, then each new one as it is recorded, and exits on SIGINT", async () => {
      const child = spawn(
        process.execPath,
        [
          CLI_BIN,
          "sessions",
          "tail",
          "--initial",
          "2",
          "--interval",
          "200ms",
          "--format",
          "json",
          ...dbArgs({ dataDir: f.db.dataDir, url: f.db.url }),
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      const events: Array<{ event: string; exchange: { clientRequestId: string; status: number | null } }> =
        [];
      let buf = "";
      let stderr = "";
      child.stdout.on("data", (d) => {
        buf += d;
        const lines = buf.split("\n");
        buf = lines.pop() ?? "";
        for (const l of lines) if (l) events.push(JSON.parse(l));
      });
      child.stderr.on("data", (d) => {
        stderr += d;
      });
      const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
      await vi.waitFor(() => expect(events.filter((e) => e.event === "request")).toHaveLength(2), {
        timeout: 10_000,
      });
      await f.chat("tail-cli-1", "live question one");
      await f.chat("tail-cli-2", "live question two");
      await vi.waitFor(
        () => {
          const got = events.filter((e) => e.exchange.clientRequestId?.startsWith("tail-cli-"));
          expect(got.map((e) => `${e.event} ${e.exchange.clientRequestId}`).sort()).toEqual([
            "request tail-cli-1",
            "request tail-cli-2",
            "response tail-cli-1",
            "response tail-cli-2",
          ]);
        },
        { timeout: 10_000, interval: 100 },
      );
      const ids = events.filter((e) => e.event === "request").map((e) => e.exchange.clientRequestId);
      expect(new Set(ids).size).toBe(ids.length); // each exchange once
      child.kill("SIGINT");
      expect(await exited).toBe(0);
      expect(stderr).toBe("");
    });
  },
);
