// Auditor queries at scale: how long each report, the exposure search, a transcript, a tail poll, verify and a
// retention dry run take on a log of EXCHANGES exchanges (USERS users, SESSIONS_PER_USER sessions each, spread
// over DAYS days of the current month, a finding every 20th exchange), on PostgreSQL and PGlite. Rows are
// written through the audit writer (group commit), like the gateway's.
//
//   npx tsc -b packages/store && node packages/store/benchmarks/reports.mjs
//   env: BENCH_DATABASE_URL (default TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres),
//        EXCHANGES (default 100000), USERS (default 50), BACKENDS (default "pg,pglite"), RUNS (default 3)
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import pg from "pg";
import {
  activityReport,
  applyRetention,
  ExchangeTail,
  exposureReport,
  listSessions,
  openStore,
  secretsReport,
  sessionTranscript,
  usersReport,
} from "../dist/index.js";

const SERVER =
  process.env.BENCH_DATABASE_URL ??
  process.env.TEST_DATABASE_URL ??
  "postgres://postgres@127.0.0.1:5432/postgres";
const EXCHANGES = Number(process.env.EXCHANGES ?? 100_000);
const USERS = Number(process.env.USERS ?? 50);
const BACKENDS = (process.env.BACKENDS ?? "pg,pglite").split(",");
const RUNS = Number(process.env.RUNS ?? 3);
const SESSIONS_PER_USER = 20;

const now = Date.now();
const monthStart = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), 1);
const span = Math.max(60_000, now - monthStart - 60_000);
const prompt = (i) =>
  JSON.stringify({
    model: "gpt-4o-mini",
    stream: true,
    messages: [{ role: "user", content: `question ${i} ${"x".repeat(1500)}` }],
  });
const reply = `${'data: {"choices":[{"delta":{"content":"an answer"},"index":0}]}\n\n'.repeat(30)}data: [DONE]\n\n`;
const SECRET = "AKIAZ7QXN4PLR2WMSJ3D";

async function fill(store) {
  const w = await store.createWriter({ writerName: "bench-reports", maxBatchRows: 1000 });
  const sessions = [];
  for (let u = 0; u < USERS; u++)
    for (let s = 0; s < SESSIONS_PER_USER; s++) {
      const id = randomUUID();
      sessions.push({ id, user: `user${u}`, seq: 0 });
      await w.sessionOpened({
        id,
        openedAt: new Date(
          monthStart + Math.floor(((u * SESSIONS_PER_USER + s) / (USERS * SESSIONS_PER_USER)) * span),
        ),
        clientAddress: `10.0.${u % 250}.${s}`,
        clientPort: 40000 + s,
        targetHost: "api.githubcopilot.com",
        targetPort: 443,
        mode: "intercept",
        identity: {
          issuer: "https://idp.example",
          subject: `user${u}`,
          email: `user${u}@example.com`,
          groups: ["dev"],
        },
      });
    }
  const t0 = performance.now();
  const inflight = [];
  for (let i = 0; i < EXCHANGES; i++) {
    const s = sessions[i % sessions.length];
    s.seq++;
    const at = new Date(monthStart + Math.floor((i / EXCHANGES) * span));
    const id = randomUUID();
    const identity = {
      issuer: "https://idp.example",
      subject: s.user,
      email: `${s.user}@example.com`,
      groups: ["dev"],
    };
    inflight.push(
      w
        .requestStarted({
          id,
          sessionId: s.id,
          sessionSeq: s.seq,
          requestedAt: at,
          method: "POST",
          scheme: "https",
          host: "api.githubcopilot.com",
          port: 443,
          path: "/chat/completions",
          endpointKind: i % 3 === 0 ? "completions" : "chat",
          model: i % 3 === 0 ? "gpt-41-copilot" : "gpt-4o-mini",
          headers: { "content-type": "application/json", "x-request-id": id },
          body: prompt(i),
          promptText: `question ${i}`,
          identity,
          findings:
            i % 20 === 0
              ? [
                  {
                    ruleId: "aws-access-key-id",
                    location: "$.messages[0].content",
                    offset: 0,
                    length: 20,
                    action: "masked",
                    secret: i % 1000 === 0 ? SECRET : `AKIA${i}`,
                  },
                ]
              : [],
        })
        .then(() =>
          w.responseFinished({
            exchangeId: id,
            respondedAt: new Date(at.getTime() + 20),
            endedAt: new Date(at.getTime() + 200),
            status: 200,
            headers: { "content-type": "text/event-stream" },
            body: reply,
            completionText: "an answer ".repeat(30),
            ttfbMs: 20,
            durationMs: 200,
            outcome: "completed",
          }),
        ),
    );
    if (inflight.length >= 512) await Promise.all(inflight.splice(0));
  }
  await Promise.all(inflight);
  await w.close();
  return { fillSeconds: (performance.now() - t0) / 1000, sessions };
}

async function time(fn) {
  const ms = [];
  let out;
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    out = await fn();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { medianMs: Math.round(ms[Math.floor(ms.length / 2)]), out };
}

async function bench(backend) {
  const dataDir = mkdtempSync(join(tmpdir(), "bench-reports-"));
  let dbName = null;
  let url = "memory://";
  if (backend === "pg") {
    dbName = `bench_reports_${Date.now().toString(36)}`;
    const c = new pg.Client({ connectionString: SERVER });
    await c.connect();
    await c.query(`CREATE DATABASE ${dbName}`);
    await c.end();
    const u = new URL(SERVER);
    u.pathname = `/${dbName}`;
    url = u.toString();
  }
  const store = await openStore({ dataDir, databaseUrl: url, poolSize: 4 });
  try {
    const { fillSeconds, sessions } = await fill(store);
    await sql`ANALYZE`.execute(store.db);
    const db = store.db;
    const month = { since: new Date(monthStart) };
    const week = { since: new Date(now - 7 * 86_400_000) };
    const results = {
      backend,
      exchanges: EXCHANGES,
      fillSeconds: Math.round(fillSeconds * 10) / 10,
      "report activity (month)": await time(() => activityReport(db, month)),
      "baseline: the same month with per-exchange LATERAL lookups (first view design)": await time(() =>
        sql`SELECT to_char((e.requested_at AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD') AS day, e.identity_subject,
                   count(*), sum(f.n), sum(r.body_size)
            FROM exchanges e
            LEFT JOIN LATERAL (SELECT x.body_size FROM exchange_responses x WHERE x.exchange_id = e.id
                               ORDER BY x.outcome = 'incomplete', x.ended_at LIMIT 1) r ON true
            LEFT JOIN LATERAL (SELECT count(*) AS n FROM findings y WHERE y.exchange_id = e.id) f ON true
            WHERE e.requested_at >= ${new Date(monthStart)}
            GROUP BY 1, e.identity_issuer, e.identity_subject`.execute(db),
      ),
      "report activity (7 days, one user)": await time(() =>
        activityReport(db, { ...week, user: "user7@example.com" }),
      ),
      "report users (month)": await time(() => usersReport(db, month)),
      "report secrets (month)": await time(() => secretsReport(db, month)),
      "report exposure (one secret, all time)": await time(() =>
        exposureReport(db, store.fingerprint, [SECRET]),
      ),
      "sessions list (100 newest)": await time(() => listSessions(db, { limit: 100 })),
      [`sessions show (${Math.round(EXCHANGES / sessions.length)} exchanges)`]: await time(() =>
        sessionTranscript(db, sessions[0].id),
      ),
      "tail: first poll + empty poll": await time(async () => {
        const t = new ExchangeTail(db);
        await t.poll();
        return t.poll();
      }),
      verify: await time(() => store.verify()),
      "retention dry run (nothing due)": await time(() =>
        applyRetention(store, {
          olderThanMs: 180 * 86_400_000,
          olderThan: "180d",
          signedOffBy: "bench",
          dryRun: true,
        }),
      ),
    };
    for (const [k, v] of Object.entries(results))
      if (v && typeof v === "object" && "medianMs" in v) results[k] = `${v.medianMs} ms`;
    return results;
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (dbName && process.env.KEEP) console.error(`kept database ${dbName}`);
    else if (dbName) {
      const c = new pg.Client({ connectionString: SERVER });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${dbName}`);
      await c.end();
    }
  }
}

for (const b of BACKENDS) console.log(JSON.stringify(await bench(b), null, 2));
