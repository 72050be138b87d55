// Store ingest benchmark: exchanges/s (request row + response row, 1–4 KB bodies, a finding every 20th
// exchange) from many concurrent producers with group commit, and requestStarted latency at concurrency 1
// and 64; on PostgreSQL and on PGlite. Baseline in the same run: the same load with group commit off
// (maxBatchRows: 1, one commit per record).
//
//   npx tsc -b packages/store && node packages/store/benchmarks/ingest.mjs
//   env: BENCH_DATABASE_URL (default TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres),
//        EXCHANGES (default 20000), PRODUCERS (default 256), BACKENDS (default "pg,pglite"),
//        LANES (default 2: also measure a writer with this many lanes, i.e. parallel chains; pg only)
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { openStore } from "../dist/index.js";

const SERVER =
  process.env.BENCH_DATABASE_URL ??
  process.env.TEST_DATABASE_URL ??
  "postgres://postgres@127.0.0.1:5432/postgres";
const EXCHANGES = Number(process.env.EXCHANGES ?? 20_000);
const PRODUCERS = Number(process.env.PRODUCERS ?? 256);
const BACKENDS = (process.env.BACKENDS ?? "pg,pglite").split(",");
const LANES = Number(process.env.LANES ?? 2);

const WORDS =
  "the quick brown fox jumps over lazy dog function const return await async import export class".split(" ");
function text(bytes) {
  let s = "";
  while (s.length < bytes) s += `${WORDS[Math.floor(Math.random() * WORDS.length)]} `;
  return s.slice(0, bytes);
}
const requestBodies = Array.from({ length: 64 }, () =>
  JSON.stringify({
    model: "gpt-4o-mini",
    stream: true,
    messages: [
      { role: "system", content: text(300) },
      { role: "user", content: text(700 + Math.floor(Math.random() * 2800)) },
    ],
  }),
);
const responseBodies = Array.from({ length: 64 }, () => {
  let s = "";
  const target = 1000 + Math.floor(Math.random() * 3000);
  while (s.length < target) s += `data: {"choices":[{"delta":{"content":"${text(20)}"},"index":0}]}\n\n`;
  return `${s}data: [DONE]\n\n`;
});

let n = 0;
function request(sessionId) {
  n++;
  const id = randomUUID();
  return {
    id,
    sessionId,
    sessionSeq: n,
    method: "POST",
    scheme: "https",
    host: "api.githubcopilot.com",
    port: 443,
    path: "/chat/completions",
    endpointKind: "chat",
    model: "gpt-4o-mini",
    headers: {
      authorization: `Bearer tid=${randomBytes(16).toString("hex")}`,
      "content-type": "application/json",
      "x-request-id": id,
      "editor-version": "vscode/1.99.0",
      "copilot-integration-id": "vscode-chat",
    },
    body: requestBodies[n % 64],
    promptText: "summarise this file",
    identity: {
      issuer: "https://idp.example",
      subject: "alice",
      email: "alice@example.com",
      groups: ["dev"],
    },
    findings:
      n % 20 === 0
        ? [
            {
              ruleId: "github-pat",
              location: "$.messages[1].content",
              offset: 10,
              length: 40,
              action: "masked",
              secret: "ghp_x",
            },
          ]
        : [],
  };
}
function response(exchangeId) {
  return {
    exchangeId,
    respondedAt: new Date(),
    status: 200,
    headers: { "content-type": "text/event-stream", "x-request-id": exchangeId },
    body: responseBodies[n % 64],
    completionText: "an answer",
    ttfbMs: 120,
    durationMs: 900,
    outcome: "completed",
  };
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const ms = (x) => `${x.toFixed(2)} ms`;

async function throughput(store, writerOpts, exchanges, producers) {
  const w = await store.createWriter({ writerName: `bench-${randomUUID().slice(0, 8)}`, ...writerOpts });
  const sessionId = randomUUID();
  let left = exchanges;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: producers }, async () => {
      while (left-- > 0) {
        const r = request(sessionId);
        await w.requestStarted(r);
        await w.responseFinished(response(r.id));
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  const st = w.stats();
  await w.close();
  return {
    perSec: exchanges / secs,
    secs,
    commits: st.commits,
    rowsPerCommit: st.committedRows / Math.max(1, st.commits),
  };
}

async function latency(store, concurrency, total) {
  const w = await store.createWriter({ writerName: `bench-lat-${concurrency}` });
  const sessionId = randomUUID();
  const lat = [];
  let left = total;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left-- > 0) {
        const r = request(sessionId);
        const t = performance.now();
        await w.requestStarted(r);
        lat.push(performance.now() - t);
        await w.responseFinished(response(r.id));
      }
    }),
  );
  await w.close();
  return { p50: pct(lat, 50), p99: pct(lat, 99), n: lat.length };
}

async function bench(kind) {
  const dataDir = mkdtempSync(join(tmpdir(), "copilot-audit-bench-"));
  let dbName;
  let url;
  if (kind === "pg") {
    dbName = `ca_bench_${Date.now().toString(36)}`;
    const admin = new pg.Client({ connectionString: SERVER });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${dbName}"`);
    await admin.end();
    const u = new URL(SERVER);
    u.pathname = `/${dbName}`;
    url = u.toString();
  }
  const store = await openStore({ dataDir, databaseUrl: url });
  const exchanges = kind === "pg" ? EXCHANGES : Math.min(EXCHANGES, 5_000);
  try {
    console.log(`\n== ${kind} (${exchanges} exchanges = ${exchanges * 2}+ rows, ${PRODUCERS} producers) ==`);
    await throughput(store, {}, Math.min(1_000, exchanges), PRODUCERS); // warm-up
    const g = await throughput(store, {}, exchanges, PRODUCERS);
    console.log(
      `group commit:        ${g.perSec.toFixed(0).padStart(6)} exchanges/s  (${g.secs.toFixed(2)} s, ${g.commits} commits, ${g.rowsPerCommit.toFixed(1)} rows/commit)`,
    );
    if (LANES > 1 && kind === "pg") {
      const m = await throughput(store, { lanes: LANES }, exchanges, PRODUCERS);
      console.log(
        `group commit, ${LANES} lanes: ${m.perSec.toFixed(0).padStart(6)} exchanges/s  (${m.commits} commits, ${m.rowsPerCommit.toFixed(1)} rows/commit)`,
      );
    }
    const b = await throughput(store, { maxBatchRows: 1 }, Math.min(exchanges, 3_000), PRODUCERS);
    console.log(
      `baseline (1 row/commit): ${b.perSec.toFixed(0).padStart(6)} exchanges/s  (${b.commits} commits)`,
    );
    const l1 = await latency(store, 1, 2_000);
    console.log(`requestStarted latency c=1:  p50 ${ms(l1.p50)}  p99 ${ms(l1.p99)}  (n=${l1.n})`);
    const l64 = await latency(store, 64, 10_000);
    console.log(`requestStarted latency c=64: p50 ${ms(l64.p50)}  p99 ${ms(l64.p99)}  (n=${l64.n})`);
    const t = performance.now();
    const report = await store.verify();
    console.log(
      `verify: ${report.ok ? "OK" : "BROKEN"}, ${report.totalRows} rows in ${((performance.now() - t) / 1000).toFixed(2)} s`,
    );
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (dbName) {
      const admin = new pg.Client({ connectionString: SERVER });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
      await admin.end();
    }
  }
}

console.log(`node ${process.version}, ${(await import("node:os")).cpus().length} CPUs`);
for (const kind of BACKENDS) await bench(kind);
