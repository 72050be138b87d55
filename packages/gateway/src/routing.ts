import { normalizeHost } from "./hosts.js";

/**
 * Which intercepted requests are Copilot traffic (recorded and masked). `api.github.com` carries the
 * whole GitHub API: only `/copilot_internal/` is Copilot's; every other path passes through the
 * interception unchanged and unrecorded. Every other intercepted host is Copilot's entirely.
 */
export function isAuditedPath(host: string, path: string): boolean {
  if (normalizeHost(host) === "api.github.com") return path.startsWith("/copilot_internal/");
  return true;
}
