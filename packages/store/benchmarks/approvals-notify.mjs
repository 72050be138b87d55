// Approval propagation between replicas: how long after a decision made by one process (its own store, pool and
// writer) another replica's in-memory view shows it. With LISTEN/NOTIFY (the default on PostgreSQL) and, as the
// same-run baseline, with polling (the view without a LISTEN connection, as on PGlite; poll interval 1 s).
//
//   npx tsc -b packages/store && node packages/store/benchmarks/approvals-notify.mjs
//   env: BENCH_DATABASE_URL (default TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres), ROUNDS (default 50)
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { openApprovals, openStore } from "../dist/index.js";

const SERVER =
  process.env.BENCH_DATABASE_URL ??
  process.env.TEST_DATABASE_URL ??
  "postgres://postgres@127.0.0.1:5432/postgres";
const ROUNDS = Number(process.env.ROUNDS ?? 50);
const ISS = "https://idp.example.com";
const bob = { kind: "approver", name: "bob@example.com", subject: "bob", issuer: ISS };

async function admin(text) {
  const c = new pg.Client({ connectionString: SERVER });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

const pct = (xs, p) =>
  xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

async function run(name, url, dataDir, viewOpts) {
  const storeA = await openStore({ dataDir, databaseUrl: url, fingerprintKey: "00".repeat(32) });
  const storeB = await openStore({
    dataDir,
    databaseUrl: url,
    fingerprintKey: "00".repeat(32),
    migrate: false,
  });
  const wA = await storeA.createWriter({ writerName: `bench-a-${name}` });
  const wB = await storeB.createWriter({ writerName: `bench-b-${name}` });
  const a = await openApprovals({ store: storeA, writer: wA, expirySweepMs: 0, ...viewOpts });
  const b = await openApprovals({ store: storeB, writer: wB, watch: false });
  const fromCall = [];
  const fromReturn = [];
  for (let i = 0; i < ROUNDS; i++) {
    const subject = `${name}-user-${i}`;
    const { request } = await b.request(
      { issuer: ISS, subject, groups: ["contractors"] },
      { defaultTtlSeconds: 3600 },
    );
    const t0 = performance.now();
    await b.grant(request.id, bob);
    const t1 = performance.now();
    for (;;) {
      if (a.lookup(ISS, subject)?.status === "granted") break;
      await new Promise((r) => setImmediate(r));
    }
    const t2 = performance.now();
    fromCall.push(t2 - t0);
    fromReturn.push(t2 - t1);
  }
  await a.close();
  await b.close();
  await wA.close();
  await wB.close();
  await storeB.close();
  await storeA.close();
  const f = (xs) =>
    `p50 ${pct(xs, 50).toFixed(2)} ms, p99 ${pct(xs, 99).toFixed(2)} ms, max ${Math.max(...xs).toFixed(2)} ms`;
  console.log(`${name.padEnd(8)} grant() call → other view: ${f(fromCall)}`);
  console.log(`${"".padEnd(8)} grant() returned → other view: ${f(fromReturn)}`);
}

const db = `ca_bench_${Date.now().toString(36)}`;
await admin(`CREATE DATABASE "${db}"`);
const u = new URL(SERVER);
u.pathname = `/${db}`;
const dataDir = mkdtempSync(join(tmpdir(), "approvals-bench-"));
try {
  console.log(
    `approval propagation between two stores on one PostgreSQL, ${ROUNDS} grants each (node ${process.version})`,
  );
  await run("listen", u.toString(), dataDir, { databaseUrl: u.toString() });
  await run("poll-1s", u.toString(), dataDir, { pollIntervalMs: 1000 });
} finally {
  await admin(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
  rmSync(dataDir, { recursive: true, force: true });
}
