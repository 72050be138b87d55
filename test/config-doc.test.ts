import { readFileSync } from "node:fs";
import { buildProgram, KEYS } from "@copilot-audit/cli";
import { describe, expect, it } from "vitest";

describe("docs/configuration.md", () => {
  const doc = readFileSync(new URL("../docs/configuration.md", import.meta.url), "utf8");
  const table = doc.slice(doc.indexOf("<!-- keys:start -->"), doc.indexOf("<!-- keys:end -->"));
  const rows = new Map(
    [...table.matchAll(/^\| `(\w+)` \| (`[^`]+`|—) \| (`[^`]+`|—) \|/gm)].map((m) => [
      m[1] as string,
      { flag: m[2] as string, env: m[3] as string },
    ]),
  );
  const start = buildProgram().commands.find((c) => c.name() === "start");

  it("documents every config key, with its environment variable, and nothing else", () => {
    expect([...rows.keys()].sort()).toEqual(Object.keys(KEYS).sort());
    for (const [name, spec] of Object.entries(KEYS) as Array<[string, { env?: string }]>) {
      expect(rows.get(name)?.env, name).toBe(spec.env ? `\`${spec.env}\`` : "—");
    }
  });

  it("names only flags that `start` really has (regenerate with scripts/gen-config-doc.mjs)", () => {
    const flags = new Set(start?.options.map((o) => o.long));
    for (const [name, row] of rows) {
      if (row.flag !== "—") expect(flags.has(row.flag.replace(/`/g, "")), `${name} ${row.flag}`).toBe(true);
    }
  });
});
