import { Writable } from "node:stream";
import { openStore } from "@copilot-audit/store";
import { type FakeCopilot, proxyAgent, startFakeCopilot, type TestBackend } from "@copilot-audit/testkit";
import { pino } from "pino";
import type { ProxyAgent } from "undici";
// The store's own test helper: fresh databases, and PGlite copied from a migrated template (initdb is ~5 s).
import { prepareTestDatabase } from "../../store/test/helpers.js";
import { type CertificateAuthority, createCa, loadCa } from "../src/ca/authority.js";
import { Gateway, type GatewayOptions } from "../src/gateway.js";
import { DEFAULT_INTERCEPT_HOSTS } from "../src/hosts.js";

/** A pino logger whose JSON lines land in an array, so tests can assert on what was (and was not) logged. */
export function captureLogger(level = "debug") {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of chunk.toString().split("\n")) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

let sharedCa: { ca: CertificateAuthority; certPem: string } | null = null;
export function testGatewayCa(): { ca: CertificateAuthority; certPem: string } {
  if (!sharedCa) {
    const { certPem, keyPem } = createCa({
      keyType: "ec",
      permit: ["githubcopilot.com", "githubusercontent.com", "api.github.com"],
    });
    sharedCa = { ca: loadCa({ certPem, keyPem }), certPem };
  }
  return sharedCa;
}

/** A fresh audit store on `backend` (a new database, or a copy of the migrated PGlite template). */
export async function testStore(backend: TestBackend) {
  const d = await prepareTestDatabase(backend);
  const store = await openStore({ dataDir: d.dataDir, databaseUrl: d.url, poolSize: 4 });
  const writer = await store.createWriter({ writerName: `gateway-test-${backend}` });
  return {
    store,
    writer,
    dataDir: d.dataDir,
    url: d.url,
    async close() {
      await writer.close().catch(() => undefined);
      await store.close().catch(() => undefined);
      await d.cleanup();
    },
  };
}

export interface Stack {
  gateway: Gateway;
  port: number;
  proxyUrl: string;
  caPem: string;
  upstream: FakeCopilot;
  logs: Array<Record<string, unknown>>;
  agent(opts?: { proxyAuthorization?: string }): ProxyAgent;
  close(): Promise<void>;
}

/** Fake Copilot upstream + an in-process gateway resolving every Copilot host to it. */
export async function startStack(
  overrides: Partial<GatewayOptions> = {},
  upstreamOpts: { tls?: boolean; allowUpstreamPort?: boolean } = {},
): Promise<Stack> {
  const upstream = await startFakeCopilot(upstreamOpts);
  const { ca, certPem } = testGatewayCa();
  const { logger, lines } = captureLogger();
  const resolve = new Map<string, { host: string; port: number }>();
  const args = upstream.resolveArgs();
  for (let i = 1; i < args.length; i += 2) {
    const [host, dest] = (args[i] as string).split("=") as [string, string];
    resolve.set(host, { host: "127.0.0.1", port: Number(dest.split(":")[1]) });
  }
  const gateway = new Gateway({
    listen: { host: "127.0.0.1", port: 0 },
    intercept: DEFAULT_INTERCEPT_HOSTS,
    ca,
    logger,
    resolve,
    upstreamCaPems: [upstream.caPem],
    ...overrides,
    allowPorts: [...(overrides.allowPorts ?? []), ...(upstreamOpts.allowUpstreamPort ? [upstream.port] : [])],
  });
  const { port } = await gateway.listen();
  const agents: ProxyAgent[] = [];
  return {
    gateway,
    port,
    proxyUrl: `http://127.0.0.1:${port}`,
    caPem: certPem,
    upstream,
    logs: lines,
    agent(opts = {}) {
      const a = proxyAgent({ proxy: `http://127.0.0.1:${port}`, ca: certPem, ...opts });
      agents.push(a);
      return a;
    },
    async close() {
      await Promise.all(agents.map((a) => a.close().catch(() => undefined)));
      await gateway.close();
      await upstream.close();
    },
  };
}
