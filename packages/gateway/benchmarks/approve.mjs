// Per-exchange cost of the just-in-time approval check (the `approve` stage's onRequestHeaders) for a user
// with a live grant — the hot path: an in-memory lookup, no database round trip. Same-run baselines: a user
// outside the approval groups (policy check only), and `evaluateAccess` alone.
//
//   npx tsc -b packages/gateway && node packages/gateway/benchmarks/approve.mjs
//   env: CALLS (default 2_000_000), SUBJECTS (other subjects with a pending request in the view; default 2000)
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { evaluateAccess } from "@copilot-audit/identity";
import { openApprovals, openStore } from "@copilot-audit/store";
import { buildStages } from "../dist/index.js";

const CALLS = Number(process.env.CALLS ?? 2_000_000);
const SUBJECTS = Number(process.env.SUBJECTS ?? 2000);
const ISS = "https://idp.example.com";
const policy = { allowGroups: [], approvalGroups: ["contractors"], approverGroups: ["approvers"] };
const identity = (subject, groups) => ({
  issuer: ISS,
  subject,
  email: `${subject}@example.com`,
  name: null,
  groups,
  groupsUnknownReason: null,
  tokenId: null,
  tokenFingerprint: "0".repeat(64),
  expiresAt: new Date(Date.now() + 3600_000),
});

const dataDir = mkdtempSync(join(tmpdir(), "approve-bench-"));
const store = await openStore({ dataDir, databaseUrl: "memory://", fingerprintKey: "00".repeat(32) });
const writer = await store.createWriter({ writerName: "bench" });
const approvals = await openApprovals({ store, writer, expirySweepMs: 0 });
// Many subjects in the view, like a large organisation; alice has a live grant.
for (let i = 0; i < SUBJECTS; i++)
  await approvals.request(
    { issuer: ISS, subject: `user-${i}`, groups: ["contractors"] },
    { defaultTtlSeconds: 3600 },
  );
const { request } = await approvals.request(
  { issuer: ISS, subject: "alice", groups: ["contractors"] },
  { defaultTtlSeconds: 3600 },
);
await approvals.grant(request.id, { kind: "operator", name: "bench" });

const stages = buildStages({ upstream: {}, approvals: { approvals, policy, ttlSeconds: 3600 } });
const stage = stages.find((s) => s.name === "approve");
const granted = { session: { identity: identity("alice", ["contractors"]) } };
const outsider = { session: { identity: identity("dave", ["dev"]) } };

function bench(name, fn) {
  for (let i = 0; i < 100_000; i++) fn(); // warm up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) fn();
  const ns = Number(process.hrtime.bigint() - t0) / CALLS;
  console.log(
    `${name.padEnd(48)} ${ns.toFixed(1).padStart(7)} ns/call  ${(1e9 / ns / 1e6).toFixed(2)} M calls/s`,
  );
}

console.log(
  `approve stage, ${CALLS} calls each, ${SUBJECTS + 1} subjects in the view (node ${process.version})`,
);
bench("approve: user with a live grant (forwarded)", () => {
  if (stage.onRequestHeaders(granted) !== undefined) throw new Error("refused");
});
bench("approve: user outside the approval groups", () => stage.onRequestHeaders(outsider));
bench("baseline: evaluateAccess alone", () => evaluateAccess(policy, granted.session.identity));
bench("baseline: approvals.lookup alone", () => approvals.lookup(ISS, "alice"));

await approvals.close();
await writer.close();
await store.close();
rmSync(dataDir, { recursive: true, force: true });
