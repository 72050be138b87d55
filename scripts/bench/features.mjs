#!/usr/bin/env node
// What each feature costs, in one invocation on one machine: the same workloads direct, through a bare
// gateway, and with identity, masking, recording (PostgreSQL and PGlite) and everything on.
//   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node scripts/bench/features.mjs [--duration 5]
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Agent, ProxyAgent, request } from "undici";
import { openEmbeddedIssuer } from "../../packages/identity/dist/index.js";
import { createTestDatabase } from "../../packages/testkit/dist/index.js";
import { chatStream, fmt, load, machine, percentile, root, startProcess } from "./lib.mjs";

const argv = process.argv.slice(2);
const opt = (n, d) => {
  const i = argv.indexOf(`--${n}`);
  return i >= 0 ? argv[i + 1] : d;
};
const durationMs = Number(opt("duration", "5")) * 1000;
const only = opt("variants", "bare,auth,masking,recording-pg,recording-pglite,full-pg").split(",");
const dir = mkdtempSync(join(tmpdir(), "bench-features-"));
const up = await startProcess(process.execPath, [join(root, "scripts/bench/upstream-server.mjs"), dir], {
  match: /(\{"port".*\})\n/,
  name: "upstream",
});
const { port: upPort, caFile: upCaFile } = JSON.parse(up.match[1]);
const upCa = readFileSync(upCaFile, "utf8");
const dbs = [];

const VARIANTS = {
  bare: [],
  auth: ["--auth"],
  masking: ["--redact", "mask"],
  "recording-pg": ["--record", "pg"],
  "recording-pglite": ["--record", "pglite"],
  "full-pg": ["--auth", "--redact", "mask", "--record", "pg", "--lanes", "2"],
};

async function startVariant(name) {
  const args = [...VARIANTS[name]];
  const i = args.indexOf("pg");
  if (i >= 0) {
    const db = await createTestDatabase({ backend: "pg" });
    if (!db.url) throw new Error("recording-pg needs TEST_DATABASE_URL");
    dbs.push(db);
    args[i] = `pg=${db.url}`;
  }
  const p = await startProcess(
    process.execPath,
    [
      join(root, "scripts/bench/gateway-server.mjs"),
      "--dir",
      dir,
      "--upstream-port",
      String(upPort),
      "--upstream-ca",
      upCaFile,
      ...args,
    ],
    { match: /(\{"port".*\})\n/, name, timeoutMs: 60_000 },
  );
  const info = JSON.parse(p.match[1]);
  const ca = readFileSync(info.caFile, "utf8");
  const auth = info.token ? `Bearer ${info.token}` : undefined;
  return {
    name,
    proc: p,
    info,
    dispatcher: (token = auth) =>
      new ProxyAgent({
        uri: `http://127.0.0.1:${info.port}`,
        requestTls: { ca },
        ...(token ? { token } : {}),
      }),
  };
}

const results = { machine: machine(), date: new Date().toISOString(), durationMs, rows: [], connect: [] };
console.log(`# features benchmark — ${results.machine}\n`);
console.log(
  "| variant | GET c=1 p50 ms | c=1 p99 | c=1 req/s | GET c=16 req/s | vs bare | SSE c=16 streams/s | vs bare |",
);
console.log("|---|---|---|---|---|---|---|---|");

// Variants run interleaved: each workload goes round after round, every variant (shuffled) for a short slice,
// and the median over rounds is reported — so load drifting on a shared machine hits every variant alike.
const rounds = Number(opt("rounds", "5"));
const slice = Math.max(1000, Math.floor(durationMs / 2));
const variants = { direct: { name: "direct", dispatcher: () => null } };
for (const name of Object.keys(VARIANTS).filter((v) => only.includes(v)))
  variants[name] = await startVariant(name);
const dispatcherFor = (name, c) =>
  name === "direct" ? new Agent({ connect: { ca: upCa }, connections: c }) : variants[name].dispatcher();
const workloads = [
  { key: "c1", concurrency: 1, url: `https://localhost:${upPort}/models`, extra: {} },
  { key: "c16", concurrency: 16, url: `https://localhost:${upPort}/models`, extra: {} },
  { key: "sse16", concurrency: 16, url: `https://localhost:${upPort}/chat/completions`, extra: chatStream },
];
const samples = {};
for (const w of workloads) {
  for (let r = 0; r < rounds; r++) {
    const order = Object.keys(variants).sort(() => Math.random() - 0.5);
    for (const name of order) {
      const d = dispatcherFor(name, w.concurrency);
      const res = await load({
        dispatcher: d,
        url: w.url,
        concurrency: w.concurrency,
        durationMs: slice,
        warmupMs: 300,
        ...w.extra,
      });
      await d.close();
      samples[name] ??= {};
      samples[name][w.key] ??= [];
      samples[name][w.key].push(res);
    }
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const stat = (name, key, f) => median(samples[name][key].map(f));
for (const name of Object.keys(variants)) {
  const row = {
    variant: name,
    c1p50: stat(name, "c1", (x) => x.p50),
    c1p99: stat(name, "c1", (x) => x.p99),
    c1rps: stat(name, "c1", (x) => x.rps),
    c16rps: stat(name, "c16", (x) => x.rps),
    sse16: stat(name, "sse16", (x) => x.rps),
    errors: Object.values(samples[name])
      .flat()
      .reduce((n, x) => n + x.errors, 0),
  };
  results.rows.push(row);
}
const bare = results.rows.find((r) => r.variant === "bare");
const direct = results.rows.find((r) => r.variant === "direct");
const ratio = (x, b) => (b ? `${fmt(x / b)}×` : "");
for (const row of results.rows) {
  console.log(
    `| ${row.variant} | ${fmt(row.c1p50)} | ${fmt(row.c1p50 - direct.c1p50)} | ${fmt(row.c1p99)} | ${fmt(row.c16rps, 0)} | ${ratio(row.c16rps, bare?.c16rps)} | ${fmt(row.sse16, 0)} | ${ratio(row.sse16, bare?.sse16)} | ${row.errors} |`,
  );
}
for (const name of Object.keys(variants))
  if (!["direct", "bare", "auth"].includes(name)) await variants[name].proc.stop();

// CONNECT + first exchange on a fresh connection: what identity adds per new tunnel.
if (variants.bare && variants.auth) {
  console.log("\n## CONNECT + first exchange on a fresh connection (n=300 each, alternating)\n");
  const measure = async (mk) => {
    const d = mk();
    const t = performance.now();
    const r = await request(`https://localhost:${upPort}/models`, { dispatcher: d });
    await r.body.dump();
    const ms = performance.now() - t;
    await d.close();
    return ms;
  };
  const issuer = await openEmbeddedIssuer(variants.auth.info.issuer);
  const fresh = await Promise.all(
    Array.from({ length: 300 }, (_, i) => issuer.mintToken({ sub: `u${i}`, ttlSeconds: 3600 })),
  );
  const lat = { bare: [], cached: [], uncached: [] };
  for (let i = 0; i < 10; i++) {
    await measure(() => variants.bare.dispatcher());
    await measure(() => variants.auth.dispatcher());
  }
  for (let i = 0; i < 300; i++) {
    lat.bare.push(await measure(() => variants.bare.dispatcher()));
    lat.cached.push(await measure(() => variants.auth.dispatcher()));
    lat.uncached.push(await measure(() => variants.auth.dispatcher(`Bearer ${fresh[i]}`)));
  }
  console.log("| case | p50 ms | p99 ms |");
  console.log("|---|---|---|");
  for (const [k, xs] of Object.entries(lat)) {
    xs.sort((a, b) => a - b);
    results.connect.push({ case: k, p50: percentile(xs, 50), p99: percentile(xs, 99) });
    console.log(
      `| ${k === "bare" ? "no authentication" : k === "cached" ? "token verified before (cached)" : "new token (verified now)"} | ${fmt(percentile(xs, 50))} | ${fmt(percentile(xs, 99))} |`,
    );
  }
  console.log(
    `\nAdded by identity with a cached token: ${fmt(percentile(lat.cached, 50) - percentile(lat.bare, 50), 3)} ms at p50.`,
  );
  await variants.bare.proc.stop();
  await variants.auth.proc.stop();
}

const out = join(root, "scripts/bench/results", `features-${results.date.replace(/[:.]/g, "-")}.json`);
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nraw results: ${out}`);
await up.stop();
for (const db of dbs) await db.drop();
