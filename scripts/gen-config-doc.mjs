#!/usr/bin/env node
// Regenerates the key table in docs/configuration.md from the CLI's config declaration (packages/cli/src/config.ts).
// test/config-doc.test.ts fails when the two disagree. Run: npm run build && node scripts/gen-config-doc.mjs
import { readFileSync, writeFileSync } from "node:fs";
import { buildProgram, KEYS } from "../packages/cli/dist/index.js";

const kebab = (n) => n.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
// The flags `start` really has (every key is a `start` setting; some also apply to other commands).
const startFlags = new Set(
  buildProgram()
    .commands.find((c) => c.name() === "start")
    .options.flatMap((o) => [o.long, o.negate ? o.long : null].filter(Boolean)),
);
const esc = (s) => s.replace(/</g, "&lt;").replace(/\|/g, "\\|");
const show = (v) => {
  if (v === null) return "—";
  if (Array.isArray(v))
    return v.length === 0 ? "[]" : `\`${v.map((x) => (Array.isArray(x) ? x.join("=") : x)).join(", ")}\``;
  if (typeof v === "object") return Object.keys(v).length === 0 ? "{}" : `\`${JSON.stringify(v)}\``;
  return `\`${v}\``;
};
export function keyTable() {
  const rows = Object.entries(KEYS).map(([name, spec]) => {
    const f = spec.flag ?? `--${kebab(name)}`;
    const flag = startFlags.has(f) ? `\`${f}\`` : "—";
    const def =
      name === "listen" ? "`127.0.0.1:8080`" : name === "instanceName" ? "the host name" : show(spec.default);
    return `| \`${name}\` | ${flag} | ${spec.env ? `\`${spec.env}\`` : "—"} | ${def} | ${esc(spec.help)} |`;
  });
  return [
    "| key (config file) | flag | environment | default | meaning |",
    "|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

const path = new URL("../docs/configuration.md", import.meta.url);
const doc = readFileSync(path, "utf8");
const start = doc.indexOf("<!-- keys:start -->");
const end = doc.indexOf("<!-- keys:end -->");
if (start < 0 || end < 0)
  throw new Error("docs/configuration.md lacks the <!-- keys:start --> / <!-- keys:end --> markers");
writeFileSync(path, `${doc.slice(0, start)}<!-- keys:start -->\n${keyTable()}\n${doc.slice(end)}`);
console.log("docs/configuration.md: key table regenerated");
