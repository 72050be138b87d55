/**
 * The approve stage as a script: exchanges (only what the stage reads: the session's identity) in, results
 * out, against a real approvals repository on the embedded database. No sockets.
 */
import type { AccessPolicy, Identity } from "@copilot-audit/identity";
import { type Approvals, openApprovals } from "@copilot-audit/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApprovalDeps, defaultTtlFor, formatTtl } from "../src/approvals.js";
import { GatewayError } from "../src/errors.js";
import type { Exchange } from "../src/exchange.js";
import type { Stage } from "../src/stage.js";
import { approve } from "../src/stages/approve.js";
import { testStore } from "./helpers.js";

const ISS = "https://idp.example.com";
const policy: AccessPolicy = {
  allowGroups: [],
  approvalGroups: ["contractors", "interns"],
  approverGroups: ["leads"],
};
const who = (subject: string, groups: string[] | null): Identity => ({
  issuer: ISS,
  subject,
  email: `${subject}@example.com`,
  name: null,
  groups,
  groupsUnknownReason: groups === null ? "no groups claim" : null,
  tokenId: null,
  tokenFingerprint: "0".repeat(64),
  expiresAt: new Date(Date.now() + 3600_000),
});
const exchange = (identity: Identity | null) => ({ session: { identity } }) as unknown as Exchange;
const lead = { kind: "approver" as const, name: "lead@example.com", subject: "lead", issuer: ISS };

describe("approve stage", () => {
  let db: Awaited<ReturnType<typeof testStore>>;
  let approvals: Approvals;
  let deps: ApprovalDeps;
  let stage: Stage;
  const run = (id: Identity | null) => stage.onRequestHeaders?.(exchange(id));

  beforeAll(async () => {
    db = await testStore("pglite");
    approvals = await openApprovals({ store: db.store, writer: db.writer, expirySweepMs: 0 });
    deps = { approvals, policy, ttlSeconds: 8 * 3600, ttlByGroup: { contractors: 4 * 3600, interns: 3600 } };
    stage = approve(deps);
  });
  afterAll(async () => {
    await approvals?.close();
    await db?.close();
  });

  it("passes exchanges without an identity and people outside the approval groups, without a database row", async () => {
    expect(run(null)).toBeUndefined();
    expect(run(who("dave", ["dev"]))).toBeUndefined();
    expect(await approvals.list({ user: "dave" })).toEqual([]);
  });

  it("creates one request on the first exchange, then answers from memory (no promise, same id)", async () => {
    const alice = who("alice", ["contractors"]);
    const first = run(alice);
    expect(first).toBeInstanceOf(Promise);
    const err = (await first) as GatewayError;
    expect(err).toBeInstanceOf(GatewayError);
    expect(err.code).toBe("approval_required");
    expect(err.status).toBe(403);
    const id = err.headers["x-copilot-audit-approval"] as string;
    expect(err.headers["x-copilot-audit-approval-status"]).toBe("pending");
    const second = run(alice) as GatewayError;
    expect(second).toBeInstanceOf(GatewayError);
    expect(second.headers["x-copilot-audit-approval"]).toBe(id);
    const rows = await approvals.list({ user: "alice", status: [] });
    expect(rows.map((r) => [r.id, r.defaultTtlSeconds])).toEqual([[id, 4 * 3600]]);
    await approvals.grant(id, lead);
    expect(run(alice)).toBeUndefined();
    await approvals.revoke(id, lead);
    expect((run(alice) as GatewayError).message).toBe(
      `Copilot access for alice@example.com was revoked — approval ${id} by lead@example.com; to ask again run \`copilot-audit access request --reason "…"\``,
    );
  });

  it("a denial stands (no new request); unknown groups need approval", async () => {
    const erin = who("erin", ["contractors"]);
    const id = ((await run(erin)) as GatewayError).headers["x-copilot-audit-approval"] as string;
    await approvals.deny(id, lead, { note: "not now" });
    expect((run(erin) as GatewayError).message).toBe(
      `Copilot access for erin@example.com was denied — request ${id} by lead@example.com ("not now"); to ask again run \`copilot-audit access request --reason "…"\``,
    );
    expect((await approvals.list({ user: "erin", status: [] })).length).toBe(1);
    const unknown = await run(who("uma", null));
    expect((unknown as GatewayError).code).toBe("approval_required");
  });

  it("default lifetime: the shortest per-group TTL that applies, else the default", () => {
    expect(defaultTtlFor(deps, who("a", ["contractors", "interns"]))).toBe(3600);
    expect(defaultTtlFor(deps, who("b", ["contractors"]))).toBe(4 * 3600);
    expect(defaultTtlFor(deps, who("c", null))).toBe(8 * 3600);
    expect([formatTtl(28800), formatTtl(5400), formatTtl(90061), formatTtl(1)]).toEqual([
      "8h",
      "1h30m",
      "1d1h1m1s",
      "1s",
    ]);
  });
});
