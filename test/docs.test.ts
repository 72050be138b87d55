/**
 * The operator docs stay true: every relative link in README.md, certs/README.md and docs/*.md points to an
 * existing file (and heading, for `file.md#anchor`), and every `copilot-audit <command> --flag` written in
 * code in docs/*.md and certs/README.md is a command and flag the real CLI has.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildProgram } from "@copilot-audit/cli";
import { describe, expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const docsDir = join(root, "docs");
const docFiles = readdirSync(docsDir)
  .filter((f) => f.endsWith(".md"))
  .map((f) => join(docsDir, f));
const certsReadme = join(root, "certs/README.md");
const linkedFiles = [join(root, "README.md"), certsReadme, ...docFiles];
const cliFiles = [certsReadme, ...docFiles];

interface Parsed {
  /** Lines outside fenced code blocks, with their 1-based line numbers. */
  prose: Array<{ line: number; text: string }>;
  /** Contents of fenced code blocks, one entry per logical line (backslash continuations joined). */
  codeLines: Array<{ line: number; text: string }>;
}

function parseMarkdown(text: string): Parsed {
  const prose: Parsed["prose"] = [];
  const codeLines: Parsed["codeLines"] = [];
  let fence: string | null = null;
  let pending: { line: number; text: string } | null = null;
  text.split("\n").forEach((raw, i) => {
    const line = i + 1;
    const marker = /^\s*(`{3,}|~{3,})/.exec(raw)?.[1];
    if (fence === null && marker) {
      fence = marker;
      return;
    }
    if (fence !== null) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length && raw.trim() === marker) {
        fence = null;
        if (pending) codeLines.push(pending);
        pending = null;
        return;
      }
      const joined: { line: number; text: string } = pending
        ? { line: pending.line, text: `${pending.text} ${raw}` }
        : { line, text: raw };
      if (/\\\s*$/.test(raw)) {
        pending = { line: joined.line, text: joined.text.replace(/\\\s*$/, "") };
      } else {
        pending = null;
        codeLines.push(joined);
      }
      return;
    }
    prose.push({ line, text: raw });
  });
  return { prose, codeLines };
}

/** Inline code spans of a prose line (single or multiple backticks). */
function codeSpans(text: string): string[] {
  const spans: string[] = [];
  const re = /(`+)([\s\S]*?[^`])\1(?!`)/g;
  for (const m of text.matchAll(re)) spans.push((m[2] ?? "").trim());
  return spans;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, duplicates numbered. */
function anchorsOf(file: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const { text } of parseMarkdown(readFileSync(file, "utf8")).prose) {
    const m = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(text);
    if (!m) continue;
    const plain = (m[1] ?? "").replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1").replace(/[*`]/g, "");
    const base = plain
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

function linksOf(file: string): Array<{ line: number; target: string }> {
  const out: Array<{ line: number; target: string }> = [];
  for (const { line, text } of parseMarkdown(readFileSync(file, "utf8")).prose) {
    const withoutCode = text.replace(/(`+)[\s\S]*?[^`]\1(?!`)/g, "");
    for (const m of withoutCode.matchAll(/!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)) {
      out.push({ line, target: m[1] ?? "" });
    }
    const ref = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(withoutCode);
    if (ref) out.push({ line, target: ref[1] ?? "" });
  }
  return out;
}

function brokenLinks(files: string[]): string[] {
  const problems: string[] = [];
  for (const file of files) {
    const name = relative(root, file);
    for (const { line, target } of linksOf(file)) {
      if (target === "" || /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("//")) continue;
      const [pathPart = "", anchor] = target.split("#", 2);
      const dest = pathPart === "" ? file : resolve(dirname(file), decodeURIComponent(pathPart));
      if (!existsSync(dest)) {
        problems.push(`${name}:${line}: ${target} → ${relative(root, dest)} does not exist`);
        continue;
      }
      if (anchor && dest.endsWith(".md") && statSync(dest).isFile() && !anchorsOf(dest).has(anchor)) {
        problems.push(`${name}:${line}: ${target} → no heading #${anchor} in ${relative(root, dest)}`);
      }
    }
  }
  return problems;
}

/** The slice of the commander API this test walks (public accessors of commander's Command/Option). */
interface CliOption {
  long?: string | undefined;
  required: boolean;
  optional: boolean;
}
interface CliCommand {
  name(): string;
  aliases(): string[];
  readonly commands: readonly CliCommand[];
  readonly options: readonly CliOption[];
}

const STOP = /^(\||\|\||&&|;|>|>>|<|2>|2>&1|&)$|^#/;
const COMMAND_POSITION = new Set(["npx", "sudo", "exec", "time", "env", "node", "|", "||", "&&", ";"]);
const isCli = (tok: string) => /^(?:\S*\/)?copilot-audit(?:\.js)?$/.test(tok);
const clean = (tok: string) => tok.replace(/^[`(]+|^\$\(/g, "").replace(/[`),;]+$/g, "");

/** Checks every `copilot-audit …` invocation in one snippet; returns the problems and how many it checked. */
function checkInvocations(snippet: string, program: CliCommand): { problems: string[]; checked: number } {
  const problems: string[] = [];
  let checked = 0;
  const raw = snippet.split(/\s+/).filter(Boolean);
  const toks = raw.map(clean);
  toks.forEach((tok, i) => {
    if (!isCli(tok)) return;
    const prev = toks[i - 1];
    const atCommand =
      i === 0 ||
      /^[`(]|^\$\(/.test(raw[i] ?? "") ||
      (prev !== undefined && (COMMAND_POSITION.has(prev) || /^[A-Za-z_][A-Za-z0-9_]*=/.test(prev)));
    if (!atCommand) return;
    checked++;
    let cmd = program;
    const path: string[] = [];
    let positional = false;
    for (let j = i + 1; j < toks.length; j++) {
      const t = toks[j] ?? "";
      if (t === "" || STOP.test(t)) break;
      if (t.startsWith("--")) {
        const flag = t.split("=", 1)[0] ?? t;
        if (flag === "--help") continue;
        const opt = cmd.options.find((o) => o.long === flag);
        if (!opt) {
          const known = cmd.options.map((o) => o.long).filter(Boolean);
          problems.push(
            `\`copilot-audit ${path.join(" ")}\` has no option ${flag} (it has: ${known.join(" ")}) in: ${snippet.trim()}`,
          );
          continue;
        }
        const next = toks[j + 1];
        if (!t.includes("=") && (opt.required || opt.optional) && next !== undefined && !next.startsWith("-"))
          j++;
        continue;
      }
      if (t.startsWith("-")) continue;
      if (!positional && cmd.commands.length > 0) {
        if (t === "help") break;
        const sub = cmd.commands.find((c) => c.name() === t || c.aliases().includes(t));
        if (!sub) {
          problems.push(
            `\`copilot-audit ${[...path, t].join(" ")}\` is not a command (${path.length ? `copilot-audit ${path.join(" ")}` : "copilot-audit"} has: ${cmd.commands.map((c) => c.name()).join(" ")}) in: ${snippet.trim()}`,
          );
          break;
        }
        cmd = sub;
        path.push(t);
        continue;
      }
      positional = true;
    }
  });
  return { problems, checked };
}

describe("documentation links", () => {
  it("finds the documentation files", () => {
    expect(docFiles.map((f) => relative(root, f))).toEqual(
      expect.arrayContaining(["docs/ca-trust.md", "docs/pac.md", "docs/clients.md"]),
    );
  });

  it("every relative link in README.md, certs/README.md and docs/*.md points to an existing file and heading", () => {
    expect(brokenLinks(linkedFiles)).toEqual([]);
  });

  it("the link checker catches a missing file and a missing heading", () => {
    const anchors = anchorsOf(join(docsDir, "decisions.md"));
    expect(anchors.has("d9-pac-files-have-no-direct-fallback-for-copilot-hosts")).toBe(true);
    expect(anchors.has("d5-only-copilot-traffic-is-audited-on-apigithubcom")).toBe(true);
    expect(anchors.has("no-such-heading")).toBe(false);
  });
});

describe("CLI commands and flags in the docs", () => {
  const program = buildProgram() as unknown as CliCommand;

  it("the checker rejects unknown commands and flags and skips option values", () => {
    expect(
      checkInvocations("copilot-audit start --listen 127.0.0.1:0 --intercept x", program).problems,
    ).toEqual([]);
    expect(checkInvocations("copilot-audit ca init --no-name-constraints --dir certs", program)).toEqual({
      problems: [],
      checked: 1,
    });
    expect(checkInvocations("copilot-audit start --no-such-flag", program).problems).toHaveLength(1);
    expect(checkInvocations("npx copilot-audit nosuchcommand --x", program).problems).toHaveLength(1);
    expect(checkInvocations("copilot-audit ca show --dir pac", program).problems).toEqual([]);
    // Not an invocation: an argument of another command, or output text.
    expect(checkInvocations("grep -i copilot-audit foo bar", program).checked).toBe(0);
  });

  it("every `copilot-audit <command> --flag` in docs/*.md and certs/README.md exists in the real CLI", () => {
    const problems: string[] = [];
    let checked = 0;
    for (const file of cliFiles) {
      const name = relative(root, file);
      const parsed = parseMarkdown(readFileSync(file, "utf8"));
      const snippets = [
        ...parsed.prose.flatMap(({ line, text }) => codeSpans(text).map((s) => ({ line, text: s }))),
        ...parsed.codeLines,
      ];
      for (const { line, text } of snippets) {
        const r = checkInvocations(text, program);
        checked += r.checked;
        problems.push(...r.problems.map((p) => `${name}:${line}: ${p}`));
      }
    }
    expect(problems).toEqual([]);
    // The docs do show commands: a checker that finds none is broken, not passing.
    expect(checked).toBeGreaterThan(20);
  });
});
