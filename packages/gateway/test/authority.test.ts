import { describe, expect, it } from "vitest";
import { formatAuthority, parseConnectTarget, parseHostHeader } from "../src/authority.js";

describe("parseConnectTarget", () => {
  it.each([
    ["api.githubcopilot.com:443", "api.githubcopilot.com", 443, false],
    ["API.GitHubCopilot.com.:443", "api.githubcopilot.com", 443, false],
    ["127.0.0.1:8443", "127.0.0.1", 8443, true],
    ["[::1]:443", "::1", 443, true],
  ])("parses %s", (input, host, port, isIp) => {
    expect(parseConnectTarget(input)).toEqual({ ok: true, value: { host, port, isIp } });
  });

  it.each([
    [undefined, /no target/],
    ["api.githubcopilot.com", /has no port: expected api.githubcopilot.com:443/],
    ["api.githubcopilot.com:0", /not 1-65535/],
    ["api.githubcopilot.com:99999", /not 1-65535/],
    ["api.githubcopilot.com:https", /not 1-65535/],
    ["::1:443", /must be bracketed/],
    ["[::1", /unclosed/],
    ["http://api.githubcopilot.com:443", /not host:port/],
    ["user@host:443", /not host:port/],
    ["bad_host!:443", /not a valid hostname/],
    ["host name:443", /not host:port/],
  ])("rejects %s", (input, reason) => {
    const r = parseConnectTarget(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it("never echoes control characters", () => {
    const r = parseConnectTarget("a\u0007b");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).not.toMatch(/\u0007/);
  });

  it("parses Host headers with a default port and formats authorities", () => {
    expect(parseHostHeader("api.githubcopilot.com", 443)).toEqual({
      host: "api.githubcopilot.com",
      port: 443,
      isIp: false,
    });
    expect(parseHostHeader("x.com:8443", 443)?.port).toBe(8443);
    expect(parseHostHeader("[::1]", 443)).toEqual({ host: "::1", port: 443, isIp: true });
    expect(parseHostHeader("", 443)).toBeNull();
    expect(formatAuthority({ host: "::1", port: 443 })).toBe("[::1]:443");
  });
});
