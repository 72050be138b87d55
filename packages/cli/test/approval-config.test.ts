import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";

const env = {};

describe("approval configuration", () => {
  it("defaults: no approval groups, 8 h grants, no webhook", () => {
    const c = loadConfig({ flags: {}, env });
    expect(c).toMatchObject({
      approvalGroups: [],
      approverGroups: [],
      approvalTtl: 28800,
      approvalTtlByGroup: {},
      approvalWebhook: null,
      gateway: null,
      tokenFile: null,
    });
  });

  it("flags, environment and the config file, with per-group lifetimes", () => {
    const file = join(mkdtempSync(join(tmpdir(), "approval-config-")), "c.json");
    writeFileSync(
      file,
      JSON.stringify({ approvalTtlByGroup: { contractors: "4h", interns: 1800 }, approvalTtl: "2h" }),
    );
    const c = loadConfig({
      configFile: file,
      env: { COPILOT_AUDIT_APPROVER_GROUPS: "leads,security" },
      flags: {
        approvalGroups: ["contractors", "interns"],
        approvalTtl: "90m",
        approvalWebhook: "https://hooks.example.com/x",
      },
    });
    expect(c).toMatchObject({
      approvalGroups: ["contractors", "interns"],
      approverGroups: ["leads", "security"],
      approvalTtl: 5400,
      approvalTtlByGroup: { contractors: 14400, interns: 1800 },
      approvalWebhook: "https://hooks.example.com/x",
    });
  });

  it("a bad value names the key and what was expected", () => {
    expect(() => loadConfig({ flags: { approvalTtl: "soon" }, env })).toThrow(
      "invalid approvalTtl (--approval-ttl): expected a duration such as 8h, 30m, 1h30m or 90s",
    );
    expect(() => loadConfig({ flags: { approvalTtl: "60d" }, env })).toThrow(
      "expected a duration from 1s to 30d",
    );
    expect(() => loadConfig({ flags: { approvalWebhook: "hooks.example.com" }, env })).toThrow(
      "invalid approvalWebhook (--approval-webhook): expected an http:// or https:// URL",
    );
    const file = join(mkdtempSync(join(tmpdir(), "approval-config-")), "c.json");
    writeFileSync(file, JSON.stringify({ approvalTtlByGroup: { contractors: "forever" } }));
    expect(() => loadConfig({ configFile: file, flags: {}, env })).toThrow(
      `invalid approvalTtlByGroup ("approvalTtlByGroup" in ${file}): expected "contractors": a duration such as 8h, 30m, 1h30m or 90s`,
    );
  });
});
