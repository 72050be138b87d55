#!/usr/bin/env node
// A gateway process for one benchmark variant: the library configured like `copilot-audit start`, with each
// feature switchable, so the cost of identity, masking and recording is measured one at a time.
//   node gateway-server.mjs --dir D --upstream-port P --upstream-ca F [--auth] [--redact off|mask]
//        [--record pg=<url>|pglite] [--lanes N]
// Prints one JSON line: {"port":…,"caFile":…,"token":…}
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { createCa, Gateway, loadCa } from "../../packages/gateway/dist/index.js";
import { createAuthenticator, openEmbeddedIssuer } from "../../packages/identity/dist/index.js";
import { createDetector } from "../../packages/redact/dist/index.js";
import { openStore } from "../../packages/store/dist/index.js";

const argv = process.argv.slice(2);
const opt = (n, d) => {
  const i = argv.indexOf(`--${n}`);
  return i < 0 ? d : argv[i + 1] && !argv[i + 1].startsWith("--") ? argv[i + 1] : true;
};
const dir = opt("dir");
const upPort = Number(opt("upstream-port"));
const upCa = readFileSync(opt("upstream-ca"), "utf8");
const { certPem, keyPem } = createCa({ keyType: "ec", permit: ["localhost", "githubcopilot.com"] });
const caFile = join(dir, `ca-${process.pid}.pem`);
writeFileSync(caFile, certPem);

let store = null;
let writer = null;
const record = opt("record", null);
if (record) {
  store = await openStore(
    record === "pglite"
      ? { dataDir: join(dir, `pglite-${process.pid}`) }
      : { dataDir: dir, databaseUrl: record.replace(/^pg=/, "") },
  );
  writer = await store.createWriter({ writerName: `bench-${process.pid}`, lanes: Number(opt("lanes", 1)) });
}
const fingerprint = store ? (s) => store.fingerprint(s) : (s) => `fp:${s.length}`;
let auth;
let token = null;
if (opt("auth", false)) {
  const issuer = await openEmbeddedIssuer(join(dir, `issuer-${process.pid}`));
  token = await issuer.mintToken({ sub: "bench", email: "bench@example.com", ttlSeconds: 3600 });
  auth = {
    authenticator: createAuthenticator({ embedded: issuer }),
    policy: { allowGroups: [], approvalGroups: [], approverGroups: [] },
    passthroughAuth: "required",
    tokenHelp: "",
    fingerprint,
    issuer,
  };
}
const redactMode = opt("redact", "off");
const gateway = new Gateway({
  listen: { host: "127.0.0.1", port: 0 },
  intercept: ["localhost", "*.githubcopilot.com"],
  ca: loadCa({ certPem, keyPem }),
  logger: pino({ level: "warn" }),
  resolve: new Map([["*.githubcopilot.com", { host: "127.0.0.1", port: upPort }]]),
  upstreamCaPems: [upCa],
  allowPorts: [upPort],
  ...(auth ? { auth } : {}),
  ...(redactMode !== "off" || writer
    ? {
        redact: {
          detector: createDetector(),
          requestMode: redactMode,
          responseMode: redactMode,
          fingerprint,
          maxDecodedBytes: 1 << 26,
        },
      }
    : {}),
  ...(writer ? { writer } : {}),
});
const { port } = await gateway.listen();
process.stdout.write(
  `${JSON.stringify({ port, caFile, token, issuer: auth?.issuer ? join(dir, `issuer-${process.pid}`) : null })}\n`,
);
process.on("SIGTERM", async () => {
  await gateway.close();
  await writer?.close();
  await store?.close();
  process.exit(0);
});
