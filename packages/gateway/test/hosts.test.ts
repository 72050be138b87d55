import { describe, expect, it } from "vitest";
import {
  DEFAULT_INTERCEPT_HOSTS,
  HostMatcher,
  parseHostPattern,
  patternsOutsideConstraints,
  withinSubtree,
} from "../src/hosts.js";

describe("HostMatcher", () => {
  const m = new HostMatcher(DEFAULT_INTERCEPT_HOSTS);

  it("matches the Copilot hosts, wildcards at any depth, case- and trailing-dot-insensitively", () => {
    for (const h of [
      "api.githubcopilot.com",
      "api.business.githubcopilot.com",
      "proxy.individual.githubcopilot.com",
      "API.GithubCopilot.com.",
      "copilot-proxy.githubusercontent.com",
      "origin-tracker.githubusercontent.com",
      "api.github.com",
    ]) {
      expect(m.matches(h), h).toBe(true);
    }
  });

  it("does not match the wildcard apex, look-alikes or other hosts", () => {
    for (const h of [
      "githubcopilot.com",
      "evilgithubcopilot.com",
      "githubcopilot.com.evil.org",
      "github.com",
      "raw.githubusercontent.com",
      "api.github.com.evil.org",
    ]) {
      expect(m.matches(h), h).toBe(false);
    }
  });

  it("lists exact hosts for pre-minting and the subtrees a name-constrained CA needs", () => {
    expect(m.exactHosts()).toContain("api.github.com");
    expect(m.exactHosts().some((h) => h.includes("*"))).toBe(false);
    expect(m.permittedSubtrees()).toEqual([
      "api.github.com",
      "copilot-proxy.githubusercontent.com",
      "copilot-telemetry.githubusercontent.com",
      "githubcopilot.com",
      "origin-tracker.githubusercontent.com",
    ]);
    expect(new HostMatcher(["*.x.com", "a.x.com", "b.y.com"]).permittedSubtrees()).toEqual([
      "b.y.com",
      "x.com",
    ]);
  });

  it("rejects invalid patterns with a reason", () => {
    expect(() => parseHostPattern("*.com")).toThrow(/wildcard/);
    expect(() => parseHostPattern("a.*.com")).toThrow(/leading/);
    expect(() => parseHostPattern("bad host")).toThrow(/not a valid hostname/);
    expect(() => parseHostPattern("127.0.0.1")).toThrow(/DNS names.*--resolve/);
  });

  it("checks patterns against CA name constraints", () => {
    const patterns = new HostMatcher(["*.githubcopilot.com", "api.github.com", "copilot-api.acme.ghe.com"])
      .patterns;
    expect(patternsOutsideConstraints(patterns, ["githubcopilot.com", "api.github.com"])).toEqual([
      "copilot-api.acme.ghe.com",
    ]);
    expect(patternsOutsideConstraints(patterns, null)).toEqual([]);
    expect(withinSubtree("a.b.ghe.com", "ghe.com")).toBe(true);
    expect(withinSubtree("xghe.com", "ghe.com")).toBe(false);
  });
});
