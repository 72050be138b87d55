import { describe, expect, it } from "vitest";
import { classifyEndpoint } from "../src/endpoint.js";

describe("classifyEndpoint", () => {
  it.each([
    ["api.github.com", "/copilot_internal/v2/token", "token"],
    ["api.github.com", "/copilot_internal/user", "other"],
    ["api.github.com", "/repos/o/r", "other"],
    ["api.acme.ghe.com", "/copilot_internal/v2/token", "token"],
    ["copilot-proxy.githubusercontent.com", "/v1/engines/gpt-41-copilot/completions", "completions"],
    ["proxy.business.githubcopilot.com:443", "/v1/engines/x/completions?x=1", "completions"],
    ["api.githubcopilot.com", "/chat/completions", "chat"],
    ["API.Individual.GithubCopilot.com", "/chat/completions/", "chat"],
    ["api.enterprise.githubcopilot.com", "/responses", "responses"],
    ["api.githubcopilot.com", "/v1/messages", "messages"],
    ["api.githubcopilot.com", "/embeddings", "embeddings"],
    ["api.githubcopilot.com", "/models", "models"],
    ["api.githubcopilot.com", "/models/gpt-4o/policy", "models"],
    ["api.githubcopilot.com", "/agents", "agents"],
    ["api.githubcopilot.com", "/agents/github/skills", "agents"],
    ["api.githubcopilot.com", "/mcp/readonly", "mcp"],
    ["api.githubcopilot.com", "/_ping", "other"],
    ["copilot-api.acme.ghe.com", "/chat/completions", "chat"],
    ["copilot-proxy.acme.ghe.com", "/v1/engines/x/completions", "completions"],
    ["origin-tracker.githubusercontent.com", "/twirp/github.snippy.v1.SnippyAPI/Match", "snippy"],
    ["copilot-telemetry.githubusercontent.com", "/telemetry", "telemetry"],
    ["telemetry.individual.githubcopilot.com", "/telemetry", "telemetry"],
    ["copilot-telemetry-service.acme.ghe.com", "/telemetry", "telemetry"],
    ["example.com", "/chat/completions", "other"],
    ["[::1]:8080", "/chat/completions", "other"],
  ])("%s %s → %s", (host, path, kind) => {
    expect(classifyEndpoint(host, path)).toBe(kind);
  });
});
