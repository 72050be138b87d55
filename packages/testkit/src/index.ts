// @copilot-audit/testkit: fakes and helpers for tests and scripts/. Never imported by product code.
// Each module appends its exports here, one line per module.
export const placeholder = true;
export * from "./oidc.js";
