/** Which Copilot endpoint a request goes to, from its host and path (copilot-wire.md). */
import type { EndpointKind } from "./types.js";

const CHAT_HOST =
  /^(?:api(?:\.(?:individual|business|enterprise))?\.githubcopilot\.com|copilot-api\.[a-z0-9-]+\.ghe\.com)$/;
const PROXY_HOST =
  /^(?:copilot-proxy\.githubusercontent\.com|proxy(?:\.(?:individual|business|enterprise))?\.githubcopilot\.com|copilot-proxy\.[a-z0-9-]+\.ghe\.com)$/;
const TELEMETRY_HOST =
  /^(?:copilot-telemetry\.githubusercontent\.com|telemetry(?:\.[a-z0-9-]+)?\.githubcopilot\.com|copilot-telemetry-service\.[a-z0-9-]+\.ghe\.com)$/;
const SNIPPY_HOST = /^origin-tracker\.githubusercontent\.com$/;

function normaliseHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith("[")) return h; // IPv6 literal: no Copilot host
  const colon = h.lastIndexOf(":");
  if (colon >= 0) h = h.slice(0, colon);
  return h.endsWith(".") ? h.slice(0, -1) : h;
}

function normalisePath(path: string): string {
  let p = path;
  const q = p.search(/[?#]/);
  if (q >= 0) p = p.slice(0, q);
  if (!p.startsWith("/")) p = `/${p}`;
  p = p.replace(/\/{2,}/g, "/");
  return p.length > 1 && p.endsWith("/") ? p.slice(0, -1) : p;
}

function under(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

export function classifyEndpoint(host: string, path: string): EndpointKind {
  const h = normaliseHost(host);
  const p = normalisePath(path);
  if (h === "api.github.com" || /^api\.[a-z0-9-]+\.ghe\.com$/.test(h)) {
    return p === "/copilot_internal/v2/token" ? "token" : "other";
  }
  if (TELEMETRY_HOST.test(h)) return "telemetry";
  if (SNIPPY_HOST.test(h)) return p.endsWith("/Match") || p.includes("SnippyAPI") ? "snippy" : "other";
  if (!CHAT_HOST.test(h) && !PROXY_HOST.test(h)) return "other";
  if (/^\/v1\/engines\/[^/]+\/completions$/.test(p) || p === "/v1/completions" || p === "/completions")
    return "completions";
  if (p === "/chat/completions" || p === "/v1/chat/completions") return "chat";
  if (p === "/responses" || p === "/v1/responses") return "responses";
  if (p === "/v1/messages" || p === "/messages") return "messages";
  if (p === "/embeddings" || p === "/v1/embeddings") return "embeddings";
  if (under(p, "/models")) return "models";
  if (under(p, "/agents")) return "agents";
  if (under(p, "/mcp")) return "mcp";
  return "other";
}
