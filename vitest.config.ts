import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const pkg = (name: string) => fileURLToPath(new URL(`./packages/${name}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources of sibling packages, so a test never sees a stale build.
    alias: {
      "@copilot-audit/redact": pkg("redact"),
      "@copilot-audit/identity": pkg("identity"),
      "@copilot-audit/store": pkg("store"),
      "@copilot-audit/testkit": pkg("testkit"),
      "@copilot-audit/gateway": pkg("gateway"),
      "@copilot-audit/cli": pkg("cli"),
    },
  },
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    reporters: process.env.CI ? ["default"] : ["default"],
  },
});
