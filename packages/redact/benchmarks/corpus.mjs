// Realistic prompt text for the benchmarks: real source code and docs from installed packages (deterministic:
// sorted file list, fixed size), and the same text with secrets sprinkled in.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { githubTokenChecksum } from "../dist/index.js";

const root = fileURLToPath(new URL("../../../node_modules/", import.meta.url));
const DIRS = ["undici/lib", "undici/docs", "kysely/dist/esm", "pg/lib", "jose/dist", "fast-check/lib"];
const EXT = /\.(?:js|mjs|ts|md)$/;

function walk(dir, out) {
  let names;
  try {
    names = readdirSync(dir).sort();
  } catch {
    return;
  }
  for (const name of names) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) walk(p, out);
    else if (EXT.test(name) && st.size < 400_000) out.push(p);
  }
}

/** About `bytes` of code and prose, no secrets. */
export function promptText(bytes = 8 << 20) {
  const files = [];
  for (const d of DIRS) walk(join(root, d), files);
  let text = "";
  for (let i = 0; text.length < bytes; i = (i + 1) % files.length)
    text += `// Path: ${files[i]}\n${readFileSync(files[i], "utf8")}\n`;
  return text.slice(0, bytes);
}

let seed = 1;
function rand() {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
}
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const pick = (n) => Array.from({ length: n }, () => ALNUM[Math.floor(rand() * ALNUM.length)]).join("");

export function secrets() {
  const r30 = () => pick(30);
  const gh = (p) => {
    const r = r30();
    return `${p}_${r}${githubTokenChecksum(r)}`;
  };
  return [
    () => `token = "${gh("ghp")}"`,
    () => `Authorization: token ${gh("gho")}`,
    () =>
      `aws_access_key_id = AKIA${pick(16)
        .toUpperCase()
        .replace(/[0189]/g, "Q")}`,
    () => `password = "${pick(14)}#9x"`,
    () => `postgres://app:${pick(12)}@db.internal:5432/app`,
    () => `npm_${pick(36)}`,
    () => `sk-proj-${pick(74)}T3BlbkFJ${pick(74)}`,
  ];
}

/** `text` with one secret inserted (at a line break) about every `every` characters. */
export function withSecrets(text, every = 2048) {
  const makers = secrets();
  let out = "";
  let n = 0;
  for (let at = 0; at < text.length; ) {
    const next = text.indexOf("\n", at + every);
    const end = next < 0 ? text.length : next;
    out += `${text.slice(at, end)}\n${makers[n++ % makers.length]()}`;
    at = end;
  }
  return { text: out, count: n };
}
