// Benchmark: uncached verifications/s (RS256, ES256) and the cost of a cached authenticate().
// Run: npx tsc -b packages/identity packages/testkit && node packages/identity/benchmarks/verify.mjs
import { performance } from "node:perf_hooks";
import { createLocalJWKSet, jwtVerify } from "jose";
import { startFakeIssuer } from "../../testkit/dist/index.js";
import { createAuthenticator, parseProxyAuthorization } from "../dist/index.js";

const UNCACHED_MS = Number(process.env.BENCH_MS ?? 2000);
const CACHED_CALLS = Number(process.env.BENCH_CALLS ?? 200_000);

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function throughput(fn, concurrency) {
  const until = performance.now() + UNCACHED_MS;
  let done = 0;
  async function worker() {
    while (performance.now() < until) {
      await fn();
      done += 1;
    }
  }
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return (done / (performance.now() - started)) * 1000;
}

async function latencies(fn, calls) {
  for (let i = 0; i < 10_000; i++) await fn(); // warm-up (JIT)
  const samples = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    await fn();
    samples[i] = performance.now() - t0;
  }
  samples.sort();
  return { p50: percentile(samples, 50) * 1000, p99: percentile(samples, 99) * 1000 };
}

const rows = [];
for (const algorithm of ["RS256", "ES256"]) {
  const fake = await startFakeIssuer({ algorithm });
  // Distinct tokens, so concurrent calls never share one in-flight verification.
  const headers = await Promise.all(
    Array.from(
      { length: 64 },
      async (_, i) => `Bearer ${await fake.mint({ sub: `bench-${i}`, groups: ["dev"] })}`,
    ),
  );
  const uncached = createAuthenticator({
    issuer: fake.issuer,
    audience: "copilot-audit",
    cacheMaxEntries: 0,
  });
  await uncached.prefetch();
  let next = 0;
  for (const concurrency of [1, 8]) {
    const perSec = await throughput(
      () => uncached.authenticate(headers[next++ % headers.length]),
      concurrency,
    );
    rows.push({
      case: `uncached ${algorithm}, ${concurrency} in flight`,
      value: `${Math.round(perSec)} verifications/s`,
    });
  }
  // Same-run baseline: bare jose jwtVerify against a local key set (no header parsing, hashing, mapping).
  const jwks = createLocalJWKSet(await (await fetch(fake.jwksUri)).json());
  const bareTokens = headers.map((h) => h.slice(7));
  const bare = await throughput(
    () =>
      jwtVerify(bareTokens[next++ % bareTokens.length], jwks, {
        issuer: fake.issuer,
        audience: "copilot-audit",
      }),
    1,
  );
  rows.push({
    case: `baseline: jose jwtVerify ${algorithm}, 1 in flight`,
    value: `${Math.round(bare)} verifications/s`,
  });
  uncached.close();
  await fake.close();
}

{
  const fake = await startFakeIssuer({ algorithm: "RS256" });
  const token = await fake.mint({ sub: "bench", email: "bench@example.com", groups: ["dev", "sec"] });
  const auth = createAuthenticator({ issuer: fake.issuer, audience: "copilot-audit" });
  const bearer = `Bearer ${token}`;
  const basicHeader = `Basic ${Buffer.from(`oidc:${token}`).toString("base64")}`;
  await auth.authenticate(bearer);
  const baseline = await latencies(async () => parseProxyAuthorization(bearer), CACHED_CALLS);
  const cachedBearer = await latencies(() => auth.authenticate(bearer), CACHED_CALLS);
  const cachedBasic = await latencies(() => auth.authenticate(basicHeader), CACHED_CALLS);
  const fmt = (l) => `p50 ${l.p50.toFixed(2)} µs, p99 ${l.p99.toFixed(2)} µs`;
  rows.push({ case: "baseline: await parseProxyAuthorization (Bearer)", value: fmt(baseline) });
  rows.push({ case: "cached authenticate(), Bearer", value: fmt(cachedBearer) });
  rows.push({ case: "cached authenticate(), Basic", value: fmt(cachedBasic) });
  rows.push({ case: "token length", value: `${token.length} chars` });
  auth.close();
  await fake.close();
}

console.log(`node ${process.version}, ${(await import("node:os")).cpus().length} cores`);
console.table(rows);
