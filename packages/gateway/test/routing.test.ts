import { describe, expect, it } from "vitest";
import { isAuditedPath } from "../src/routing.js";

describe("isAuditedPath", () => {
  it("audits only /copilot_internal/ on GitHub's API hosts, github.com and GHE.com tenants alike", () => {
    for (const host of ["api.github.com", "API.GITHUB.COM", "api.acme.ghe.com"]) {
      expect(isAuditedPath(host, "/copilot_internal/v2/token")).toBe(true);
      expect(isAuditedPath(host, "/repos/octo/cat")).toBe(false);
      expect(isAuditedPath(host, "/copilot_internalx")).toBe(false);
    }
  });

  it("audits every path of the Copilot hosts", () => {
    for (const host of [
      "api.githubcopilot.com",
      "copilot-api.acme.ghe.com",
      "copilot-proxy.githubusercontent.com",
    ]) {
      expect(isAuditedPath(host, "/anything")).toBe(true);
    }
  });
});
