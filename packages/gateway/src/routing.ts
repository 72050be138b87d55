import { normalizeHost } from "./hosts.js";

/**
 * Which intercepted requests are Copilot traffic (recorded and masked). `api.github.com` (and a GHE.com
 * tenant's `api.<tenant>.ghe.com`) carries the whole GitHub API: only `/copilot_internal/` is Copilot's;
 * every other path passes through the interception unchanged and unrecorded. Every other intercepted host
 * is Copilot's entirely.
 */
export function isAuditedPath(host: string, path: string): boolean {
  const h = normalizeHost(host);
  // GitHub's REST API, on github.com and on GHE.com data-residency tenants (api.<tenant>.ghe.com).
  if (h === "api.github.com" || /^api\.[a-z0-9-]+\.ghe\.com$/.test(h))
    return path.startsWith("/copilot_internal/");
  return true;
}
