#!/usr/bin/env node
import { spawnSync } from "node:child_process";
// Gateway benchmark (issue 2, and issue 3 with --record): the same workloads, in the same run, direct to
// the testkit upstream, through copilot-audit, through mitmdump (if installed) and through
// http-mitm-proxy 1.1.0 as a peer. Run: npm run build && node scripts/bench/gateway.mjs [--duration 5]
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Agent, ProxyAgent, request } from "undici";
import { chatStream, fmt, load, machine, medianOf, root, startProcess } from "./lib.mjs";

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const durationMs = Number(opt("duration", "5")) * 1000;
const concurrencies = opt("concurrency", "1,16,64").split(",").map(Number);
const bulkBytes = Number(opt("bulk-mib", "256")) * 2 ** 20;
const peers = opt("peers", "mitmdump,http-mitm-proxy").split(",").filter(Boolean);
const extraGatewayArgs = opt("gateway-args", "").split(" ").filter(Boolean);
const sections = new Set(opt("sections", "latency,sse,bulk,first").split(","));
const dir = mkdtempSync(join(tmpdir(), "bench-gateway-"));

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
const waitForPort = async (port, timeoutMs = 20_000) => {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const ok = await new Promise((r) => {
      const c = netConnect({ port, host: "127.0.0.1" }, () => {
        c.destroy();
        r(true);
      });
      c.on("error", () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`port ${port} never opened`);
};

const procs = [];
const cleanup = async () => {
  for (const p of procs.reverse()) await p.stop();
};

// --- the upstream ---
const up = await startProcess(process.execPath, [join(root, "scripts/bench/upstream-server.mjs"), dir], {
  match: /(\{"port".*\})\n/,
  name: "upstream",
});
procs.push(up);
const { port: upPort, caFile: upCaFile } = JSON.parse(up.match[1]);
const upCa = readFileSync(upCaFile, "utf8");

// --- copilot-audit: the proxy alone (identity, masking and recording are measured by features.mjs) ---
const gw = await startProcess(
  process.execPath,
  [
    join(root, "scripts/bench/gateway-server.mjs"),
    "--dir",
    dir,
    "--upstream-port",
    String(upPort),
    "--upstream-ca",
    upCaFile,
    ...extraGatewayArgs,
  ],
  { match: /(\{"port".*\})\n/, name: "copilot-audit" },
);
procs.push(gw);
const gwInfo = JSON.parse(gw.match[1]);
const gwPort = gwInfo.port;
const ourCa = readFileSync(gwInfo.caFile, "utf8");

const modes = [
  { name: "direct", dispatcher: (c) => new Agent({ connect: { ca: upCa }, connections: c }) },
  // Clients trust both the proxy's CA (intercepted hosts) and the origin's (tunnelled hosts), as a developer machine would.
  {
    name: "copilot-audit",
    dispatcher: () =>
      new ProxyAgent({ uri: `http://127.0.0.1:${gwPort}`, requestTls: { ca: [ourCa, upCa] } }),
  },
];

// --- peers ---
if (peers.includes("mitmdump") && spawnSync("mitmdump", ["--version"], { stdio: "ignore" }).status === 0) {
  const port = await freePort();
  const confdir = join(dir, "mitmproxy");
  const child = await startProcess(
    "mitmdump",
    [
      "--listen-host",
      "127.0.0.1",
      "--listen-port",
      String(port),
      "--set",
      `confdir=${confdir}`,
      "--set",
      `ssl_verify_upstream_trusted_ca=${upCaFile}`,
      "--set",
      "flow_detail=0",
      "--set",
      "stream_large_bodies=1",
      "--ignore-hosts",
      "^127\\.0\\.0\\.1",
    ],
    { match: /listening|proxy/i, name: "mitmdump", timeoutMs: 60_000 },
  ).catch(async (e) => {
    console.error(`mitmdump: ${e.message}`);
    return null;
  });
  if (child) {
    procs.push(child);
    await waitForPort(port);
    const mitmCa = readFileSync(join(confdir, "mitmproxy-ca-cert.pem"), "utf8");
    const version = spawnSync("mitmdump", ["--version"], { encoding: "utf8" }).stdout.split("\n")[0];
    modes.push({
      name: `mitmdump (${version.replace(/^Mitmproxy:\s*/, "")})`,
      peer: true,
      dispatcher: () =>
        new ProxyAgent({ uri: `http://127.0.0.1:${port}`, requestTls: { ca: [mitmCa, upCa] } }),
    });
  }
}
if (peers.includes("http-mitm-proxy")) {
  const hmpDir = join(dir, "hmp");
  const hmp = await startProcess(
    process.execPath,
    [join(root, "scripts/bench/http-mitm-proxy-peer.mjs"), hmpDir],
    {
      match: /(\{"port".*\})\n/,
      env: { NODE_EXTRA_CA_CERTS: upCaFile },
      name: "http-mitm-proxy",
    },
  );
  procs.push(hmp);
  const info = JSON.parse(hmp.match[1]);
  const hmpCa = readFileSync(info.caFile, "utf8");
  modes.push({
    name: "http-mitm-proxy 1.1.0",
    peer: true,
    dispatcher: () =>
      new ProxyAgent({ uri: `http://127.0.0.1:${info.port}`, requestTls: { ca: [hmpCa, upCa] } }),
  });
}

const results = {
  machine: machine(),
  date: new Date().toISOString(),
  durationMs,
  argv,
  latency: [],
  sse: [],
  bulk: [],
  firstRequest: null,
};
console.log(`# gateway benchmark — ${results.machine}\n`);

// --- A: intercepted keep-alive requests ---
if (sections.has("latency")) {
  console.log("## Intercepted keep-alive requests (GET /models, ~70-byte JSON)\n");
  console.log("| concurrency | mode | req/s | p50 ms | p99 ms | errors | req/s vs direct | p50 added ms |");
  console.log("|---|---|---|---|---|---|---|---|");
  for (const c of concurrencies) {
    let base = null;
    for (const m of modes) {
      const dispatcher = m.dispatcher(c);
      const r = await load({
        dispatcher,
        url: `https://localhost:${upPort}/models`,
        concurrency: c,
        durationMs,
      });
      await dispatcher.close();
      base ??= r;
      results.latency.push({ concurrency: c, mode: m.name, ...r });
      console.log(
        `| ${c} | ${m.name} | ${fmt(r.rps, 0)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${r.errors} | ${fmt(r.rps / base.rps)}× | ${fmt(r.p50 - base.p50)} |`,
      );
    }
  }
}

// --- B: SSE chat stream ---
if (sections.has("sse")) {
  console.log(
    "\n## Intercepted SSE chat stream (POST /chat/completions, 7 events, no upstream delay), concurrency 16\n",
  );
  console.log("| mode | streams/s | p50 ms | p99 ms | errors | vs direct |");
  console.log("|---|---|---|---|---|---|");
  {
    let base = null;
    for (const m of modes) {
      const dispatcher = m.dispatcher(16);
      const r = await load({
        dispatcher,
        url: `https://localhost:${upPort}/chat/completions`,
        concurrency: 16,
        durationMs,
        ...chatStream,
      });
      await dispatcher.close();
      base ??= r;
      results.sse.push({ mode: m.name, ...r });
      console.log(
        `| ${m.name} | ${fmt(r.rps, 0)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${r.errors} | ${fmt(r.rps / base.rps)}× |`,
      );
    }
  }
}

// --- C: bulk through a passthrough tunnel ---
if (sections.has("bulk")) {
  console.log(
    `\n## Bulk download through a passthrough tunnel (${bulkBytes / 2 ** 20} MiB over TLS, not intercepted), median of 3\n`,
  );
  console.log("| mode | MB/s | vs direct |");
  console.log("|---|---|---|");
  {
    let base = null;
    for (const m of modes) {
      let mbps;
      try {
        mbps = await medianOf(3, async () => {
          const dispatcher = m.dispatcher(1);
          const t = performance.now();
          try {
            const r = await request(`https://127.0.0.1:${upPort}/__testkit/bytes?n=${bulkBytes}`, {
              dispatcher,
              headersTimeout: 30_000,
              bodyTimeout: 30_000,
            });
            let n = 0;
            for await (const chunk of r.body) n += chunk.length;
            if (n !== bulkBytes) throw new Error(`got ${n} of ${bulkBytes} bytes`);
            return n / 1e6 / ((performance.now() - t) / 1000);
          } finally {
            await dispatcher.destroy();
          }
        });
      } catch (e) {
        console.log(`| ${m.name} | failed: ${e.message} | |`);
        continue;
      }
      base ??= mbps;
      results.bulk.push({ mode: m.name, mbps });
      console.log(`| ${m.name} | ${fmt(mbps, 0)} | ${fmt(mbps / base)}× |`);
    }
  }
}

// --- D: first request to a new host (certificate minting) ---
if (sections.has("first")) {
  const n = 30;
  const ttfb = async (host) => {
    const dispatcher = new ProxyAgent({ uri: `http://127.0.0.1:${gwPort}`, requestTls: { ca: ourCa } });
    const t = performance.now();
    const r = await request(`https://${host}/models`, { dispatcher, headers: { "x-testkit-close": "1" } });
    const ms = performance.now() - t;
    await r.body.dump();
    await dispatcher.close();
    return ms;
  };
  const seen = [];
  const fresh = [];
  await ttfb("api.githubcopilot.com");
  for (let i = 0; i < n; i++) {
    seen.push(await ttfb("api.githubcopilot.com"));
    fresh.push(await ttfb(`bench-${i}-${process.pid}.githubcopilot.com`));
  }
  seen.sort((a, b) => a - b);
  fresh.sort((a, b) => a - b);
  const metrics = await (await request(`http://127.0.0.1:${gwPort}/metrics`)).body.text();
  const mints = Number(/^copilot_audit_certificate_mints (\S+)$/m.exec(metrics)?.[1]);
  const mintSeconds = Number(/^copilot_audit_certificate_mint_seconds (\S+)$/m.exec(metrics)?.[1]);
  const p50 = (xs) => xs[Math.floor(xs.length / 2)];
  results.firstRequest = {
    n,
    seenP50: p50(seen),
    freshP50: p50(fresh),
    addedP50: p50(fresh) - p50(seen),
    mintMsMean: (mintSeconds * 1000) / mints,
    mints,
  };
  console.log(
    `\n## First request to a new host (fresh client connection and fresh upstream connection each time, n=${n})\n`,
  );
  console.log("| host | p50 time to response head ms |");
  console.log("|---|---|");
  console.log(`| already minted (api.githubcopilot.com) | ${fmt(p50(seen))} |`);
  console.log(`| never seen (bench-N.githubcopilot.com) | ${fmt(p50(fresh))} |`);
  console.log(
    `\nAdded by the first request to a new host: ${fmt(p50(fresh) - p50(seen))} ms at p50; the gateway's own mint + TLS context time: ${fmt(results.firstRequest.mintMsMean, 3)} ms mean over ${mints} mints.`,
  );
}

const out = join(root, "scripts/bench/results", `gateway-${results.date.replace(/[:.]/g, "-")}.json`);
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nraw results: ${out}`);
await cleanup();
