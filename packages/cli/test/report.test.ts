/**
 * `copilot-audit report …` as a user runs it (the built binary), against a database filled through the
 * gateway. Each format is checked; on PGlite (3 s per process) a subset runs, the rest on PostgreSQL.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { backends } from "@copilot-audit/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuditFixture, fillThroughGateway } from "../../store/test/gateway-fixture.js";
import { readSecrets } from "../src/commands/report.js";
import { audit, type DbLocation, parseCsv } from "./helpers.js";

// The CLI layer is the same on both backends (the store suites cover both): PostgreSQL when there is one,
// else PGlite (3 s per process there).
const all = await backends();

describe.each(all.includes("pg") ? (["pg"] as const) : (["pglite"] as const))(
  "copilot-audit report (%s)",
  (backend) => {
    let f: AuditFixture;
    let db: DbLocation;
    const pg = backend === "pg";

    beforeAll(async () => {
      f = await fillThroughGateway(backend);
      await f.release(); // the gateway is done; the CLI opens the database itself (PGlite: one process)
      db = { dataDir: f.db.dataDir, url: f.db.url };
    });
    afterAll(async () => {
      await f?.close();
    });

    it("activity: JSON for scripts, CSV for spreadsheets, a table that fits the terminal", async () => {
      const json = await audit(db, ["report", "activity", "--since", "1h", "--format", "json"]);
      expect(json.code).toBe(0);
      const rows = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
      expect(
        rows.map((r) => [r.userSubject, r.exchanges, r.refused, r.failed, r.findings, r.findingsExposed]),
      ).toEqual([
        ["alice", 6, 0, 1, 2, 0],
        ["bob", 3, 1, 0, 1, 1],
      ]);
      expect(rows[0]?.models).toEqual(["gpt-41-copilot", "gpt-4o-mini"]);
      expect(rows[0]?.firstRequestAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      if (!pg) return;
      const csv = parseCsv(
        (await audit(db, ["report", "activity", "--since", "1h", "--format", "csv"])).stdout,
      );
      expect(csv[0]?.slice(0, 4)).toEqual(["day", "userSubject", "userEmail", "exchanges"]);
      expect(csv.slice(1).map((r) => r[2])).toEqual(["alice@example.com", "Bob@Example.com"]);
      expect(csv[1]?.[csv[0]?.indexOf("models") ?? -1]).toBe("gpt-41-copilot gpt-4o-mini");
      const table = await audit(db, ["report", "activity", "--since", "1h"]);
      const lines = table.stdout.trimEnd().split("\n");
      expect(lines[0]).toMatch(/^day\s+user\s+exchanges\s+sessions/);
      expect(lines[1]).toMatch(/^-+/);
      expect(lines.slice(2).map((l) => l.split(/\s{2,}/)[1])).toEqual([
        "alice@example.com",
        "Bob@Example.com",
      ]);
      for (const l of lines) expect(l.length).toBeLessThanOrEqual(160);
      expect(table.stderr).toBe(""); // the period note is for terminals only
    });

    it("users and secrets, filtered by user and time; secrets never in the output", async () => {
      const secrets = await audit(db, ["report", "secrets", "--format", "csv"]);
      expect(secrets.code).toBe(0);
      const rows = parseCsv(secrets.stdout);
      const col = (name: string) => rows[0]?.indexOf(name) ?? -1;
      expect(
        rows
          .slice(1)
          .map((r) => [r[col("userSubject")], r[col("direction")], r[col("ruleId")], r[col("exposed")]]),
      ).toEqual([
        ["alice", "request", "aws-access-key-id", "false"],
        ["alice", "response", "github-pat", "false"],
        ["bob", "request", "github-pat", "true"],
      ]);
      for (const s of Object.values(f.secrets)) expect(secrets.stdout).not.toContain(s);
      if (!pg) return;
      const bob = await audit(db, ["report", "users", "--user", "BOB@example.com", "--format", "json"]);
      expect(
        (JSON.parse(bob.stdout) as Array<{ userSubject: string; groups: string[] }>).map((u) => [
          u.userSubject,
          u.groups,
        ]),
      ).toEqual([["bob", ["dev", "ops"]]]);
      const none = await audit(db, ["report", "secrets", "--since", "2000-01-01", "--until", "2000-01-02"]);
      expect(none.stdout).toBe("(no rows)\n");
      const table = await audit(db, ["report", "users"]);
      expect(table.stdout).toMatch(/^user\s+email\s+groups\s+first \(UTC\)/);
      const bad = await audit(db, ["report", "users", "--since", "last tuesday"]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/invalid --since "last tuesday": expected an ISO date/);
    });

    it("exposure: finds a masked key by its value read from stdin, and says when a secret was never seen", async () => {
      const input = `${f.secrets.alicePrompt}\n  ${f.secrets.bobExposed}  \n\nnever-seen-0123456789abcdef\n`;
      const r = await audit(db, ["report", "exposure"], input);
      expect(r.code).toBe(0);
      for (const s of [f.secrets.alicePrompt, f.secrets.bobExposed, "never-seen-0123456789abcdef"])
        expect(r.stdout + r.stderr).not.toContain(s);
      const lines = r.stdout.split("\n");
      const hit = (n: number) => lines.find((l) => l.startsWith(`#${n} `)) ?? "";
      expect(hit(1)).toMatch(
        /alice@example\.com\s+request\s+finding\s+\$\.messages\[0\]\.content\s+yes\s+masked/,
      );
      expect(hit(2)).toMatch(/Bob@Example\.com\s+request\s+finding\s+\S+\s+NO\s+reported/);
      expect(r.stdout).toMatch(
        /secret #1 \(hmac-sha256:[0-9a-f]{12}…\): seen 1 time\(s\), 0 of them in clear/,
      );
      expect(r.stdout).toMatch(
        /secret #2 \(hmac-sha256:[0-9a-f]{12}…\): seen 1 time\(s\), 1 of them in clear/,
      );
      expect(r.stdout).toMatch(/secret #3 \(hmac-sha256:[0-9a-f]{12}…\): never seen/);
      if (!pg) return;
      const json = JSON.parse(
        (await audit(db, ["report", "exposure", "--format", "json"], input)).stdout,
      ) as {
        secrets: Array<{ secret: number; seen: number; inClear: number }>;
        hits: Array<{ secret: number; masked: boolean; exchangeId: string }>;
      };
      expect(json.secrets.map((s) => [s.secret, s.seen, s.inClear])).toEqual([
        [1, 1, 0],
        [2, 1, 1],
        [3, 0, 0],
      ]);
      const csv = parseCsv(
        (await audit(db, ["report", "exposure", "--format", "csv"], `${f.secrets.githubOauth}\n`)).stdout,
      );
      expect(csv[1]?.[csv[0]?.indexOf("location") ?? -1]).toBe("authorization");
      const empty = await audit(db, ["report", "exposure"], "\n\n");
      expect(empty.code).toBe(2);
      expect(empty.stderr).toMatch(/no secret on standard input/);
    });

    it.runIf(pg)("exposure refuses to run without the deployment's fingerprint key", async () => {
      const elsewhere = { dataDir: mkdtempSync(join(tmpdir(), "no-key-")), url: db.url };
      const r = await audit(elsewhere, ["report", "exposure"], "AKIAIOSFODNN7EXAMPLE\n");
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/no fingerprint key: .*fingerprint\.key does not exist/);
    });
  },
);

describe("readSecrets", () => {
  const stream = (text: string, tty: boolean) =>
    Object.assign(Readable.from([Buffer.from(text)]), { isTTY: tty }) as unknown as NodeJS.ReadStream;

  it("refuses a terminal, with what to do instead", async () => {
    await expect(readSecrets(stream("", true))).rejects.toMatchObject({
      code: "config_invalid",
      message: expect.stringMatching(/pipe it in, e\.g\. `pbpaste \| copilot-audit report exposure`/),
    });
  });

  it("takes one secret per line, trimmed, blank lines ignored", async () => {
    expect(await readSecrets(stream(" a \r\n\nb\n", false))).toEqual(["a", "b"]);
  });
});
