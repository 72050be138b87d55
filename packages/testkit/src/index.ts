// @copilot-audit/testkit: fakes and helpers for tests and scripts/. Never imported by product code.
// Each module appends its exports here, one line per module.
export * from "./oidc.js";
export * from "./test-ca.js";
export * from "./sse.js";
export * from "./copilot-upstream.js";
export * from "./proxy-client.js";
export * from "./gateway-process.js";
export * from "./db.js";
export * from "./tcp-relay.js";
export * from "./private-postgres.js";
