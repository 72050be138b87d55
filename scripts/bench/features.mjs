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

let bare = null;
const run = async (name, mk) => {
  const d1 = mk(1);
  const c1 = await load({
    dispatcher: d1,
    url: `https://localhost:${upPort}/models`,
    concurrency: 1,
    durationMs,
  });
  await d1.close();
  const d16 = mk(16);
  const c16 = await load({
    dispatcher: d16,
    url: `https://localhost:${upPort}/models`,
    concurrency: 16,
    durationMs,
  });
  const s16 = (
    await load({
      dispatcher: d16,
      url: `https://localhost:${upPort}/chat/completions`,
      concurrency: 16,
      durationMs,
      ...chatStream,
    })
  ).rps;
  await d16.close();
  const row = {
    variant: name,
    c1p50: c1.p50,
    c1p99: c1.p99,
    c1rps: c1.rps,
    c16rps: c16.rps,
    sse16: s16,
    errors: c1.errors + c16.errors,
  };
  results.rows.push(row);
  if (name === "bare") bare = row;
  const ratio = (x, b) => (b ? `${fmt(x / b)}×` : "");
  console.log(
    `| ${name} | ${fmt(c1.p50)} | ${fmt(c1.p99)} | ${fmt(c1.rps, 0)} | ${fmt(c16.rps, 0)} | ${ratio(c16.rps, bare?.c16rps)} | ${fmt(s16, 0)} | ${ratio(s16, bare?.sse16)} |`,
  );
};

await run("direct", (c) => new Agent({ connect: { ca: upCa }, connections: c }));
const variants = {};
for (const name of Object.keys(VARIANTS).filter((v) => only.includes(v))) {
  const v = await startVariant(name);
  variants[name] = v;
  await run(name, () => v.dispatcher());
  if (name !== "bare" && name !== "auth") await v.proc.stop();
}

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
