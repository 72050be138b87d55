// @copilot-audit/testkit: fakes and helpers for tests and scripts/. Never imported by product code.
// Each module appends its exports here, one line per module.

export * from "./copilot-upstream.js";
export * from "./db.js";
export * from "./gateway-process.js";
export * from "./oidc.js";
export * from "./private-postgres.js";
export * from "./proxy-client.js";
export * from "./sse.js";
export * from "./tcp-relay.js";
export * from "./test-ca.js";
