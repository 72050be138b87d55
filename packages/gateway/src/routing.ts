import { normalizeHost } from "./hosts.js";

/**
 * Hosts that carry Copilot traffic on some paths only: GitHub's REST API, on github.com and on GHE.com
 * data-residency tenants (`api.<tenant>.ghe.com`). A CONNECT to them without credentials is let in —
 * browsers handed a PAC file reach api.github.com without a proxy login — and only their Copilot paths
 * then demand identity, exchange by exchange (the identify stage).
 */
export function isMixedHost(host: string): boolean {
  const h = normalizeHost(host);
  return h === "api.github.com" || /^api\.[a-z0-9-]+\.ghe\.com$/.test(h);
}

/**
 * Which intercepted requests are Copilot traffic (recorded and masked). On a mixed host only
 * `/copilot_internal/` is Copilot's; every other path passes through the interception unchanged and
 * unrecorded. Every other intercepted host is Copilot's entirely.
 */
export function isAuditedPath(host: string, path: string): boolean {
  return isMixedHost(host) ? path.startsWith("/copilot_internal/") : true;
}
