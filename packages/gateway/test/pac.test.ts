import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { DEFAULT_INTERCEPT_HOSTS } from "../src/hosts.js";
import { renderPac } from "../src/pac.js";

/** Evaluates a PAC file the way a browser does: a sandbox with the standard helper functions. */
function findProxy(pac: string, host: string): string {
  const sandbox = {
    dnsDomainIs: (h: string, d: string) => h.length >= d.length && h.slice(-d.length) === d,
    result: "",
  };
  runInNewContext(`${pac}\nresult = FindProxyForURL("https://${host}/", ${JSON.stringify(host)});`, sandbox);
  return sandbox.result;
}

describe("renderPac", () => {
  const pac = renderPac(DEFAULT_INTERCEPT_HOSTS, ["gw-a.corp:8080", "gw-b.corp:8080"]);

  it("sends Copilot hosts to the gateways, in order, with no DIRECT fallback", () => {
    for (const h of [
      "api.githubcopilot.com",
      "api.business.githubcopilot.com",
      "copilot-proxy.githubusercontent.com",
      "api.github.com",
      "API.GITHUBCOPILOT.COM.",
    ]) {
      expect(findProxy(pac, h), h).toBe("PROXY gw-a.corp:8080; PROXY gw-b.corp:8080");
    }
  });

  it("sends everything else DIRECT", () => {
    for (const h of [
      "github.com",
      "githubcopilot.com",
      "registry.npmjs.org",
      "evilgithubcopilot.com",
      "raw.githubusercontent.com",
    ]) {
      expect(findProxy(pac, h), h).toBe("DIRECT");
    }
  });

  it("needs at least one proxy", () => {
    expect(() => renderPac(DEFAULT_INTERCEPT_HOSTS, [])).toThrow(/at least one proxy/);
  });
});
