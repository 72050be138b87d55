import { HostMatcher } from "./hosts.js";

/**
 * A PAC file that sends the intercepted hosts to the gateway(s) and everything else DIRECT. There is
 * deliberately no DIRECT fallback for Copilot hosts: if every gateway is down, Copilot fails closed
 * instead of silently bypassing the audit.
 */
export function renderPac(intercept: readonly string[], proxies: readonly string[]): string {
  if (proxies.length === 0) throw new Error("a PAC file needs at least one proxy address");
  const matcher = new HostMatcher(intercept);
  const exact = matcher.patterns.filter((p) => p.exact).map((p) => p.exact as string);
  const suffixes = matcher.patterns.filter((p) => p.suffix).map((p) => p.suffix as string);
  const route = proxies.map((p) => `PROXY ${p}`).join("; ");
  return `// copilot-audit PAC file: Copilot hosts go through the audit gateway, everything else goes DIRECT.
// Generated ${new Date().toISOString()}. No DIRECT fallback for Copilot hosts: the audit fails closed.
var COPILOT_HOSTS = ${JSON.stringify(exact)};
var COPILOT_SUFFIXES = ${JSON.stringify(suffixes)};
function FindProxyForURL(url, host) {
  host = host.toLowerCase();
  if (host.charAt(host.length - 1) == ".") host = host.substring(0, host.length - 1);
  for (var i = 0; i < COPILOT_HOSTS.length; i++) {
    if (host == COPILOT_HOSTS[i]) return ${JSON.stringify(route)};
  }
  for (var j = 0; j < COPILOT_SUFFIXES.length; j++) {
    if (dnsDomainIs(host, COPILOT_SUFFIXES[j])) return ${JSON.stringify(route)};
  }
  return "DIRECT";
}
`;
}
