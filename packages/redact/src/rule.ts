/**
 * Compiling a rule: validate the config, compile the regex, and derive what the detector and the stream
 * redactor need from it (prefilter keywords, anchors, the "could a secret start here" hold pattern).
 */
import { RuleConfigError } from "./errors.js";
import { parseRegex, type RxNode } from "./regex-ast.js";
import { full, literalPrefixes, maxLength, prefixes } from "./regex-prefix.js";
import type { BuiltinRule } from "./rules.js";
import type { RuleConfig } from "./types.js";

/** Longest context (text before the secret, e.g. `password = "`) the stream redactor looks back for. */
export const MAX_CONTEXT = 256;

export interface CompiledRule {
  id: string;
  description: string;
  /** Position in the rule list: lower wins on overlap. */
  priority: number;
  flags: string;
  /** flags + "gd": scans a whole text. */
  scan: RegExp;
  /** flags + "yd": tries one position (a keyword hit). */
  sticky: RegExp;
  secretGroup: number;
  entropy: number | undefined;
  allow: RegExp[];
  validate: ((secret: string) => boolean) | undefined;
  /** Prefilter keywords; null = the rule always runs. */
  keywords: string[] | null;
  /** Keywords match case-insensitively (then they are lower case). */
  keywordsCi: boolean;
  /** The keywords are the literals every match starts with: run the sticky regex at each hit only. */
  anchored: boolean;
  /** Stream gate: the literals every match starts with (case as `gateCi`); null = the hold pattern always runs. */
  gate: string[] | null;
  gateCi: boolean;
  /** The secret is preceded by context (a name, `://user:`) that is not part of it. */
  contextual: boolean;
  /** Longest context before the secret (0 for prefix rules), capped at MAX_CONTEXT. */
  contextLength: number;
  /** Regex source: its leftmost match start (searched with `$`) is where a possible, unfinished secret begins. */
  hold: string;
}

const ID = /^[a-z0-9][a-z0-9-]{0,63}$/;

function fail(id: string, message: string): never {
  throw new RuleConfigError("invalid_rule", id, `rule "${id}": ${message}`);
}

function zeroWidth(n: RxNode): boolean {
  return n.t === "assert" || (n.t === "seq" && n.items.every(zeroWidth));
}

function seq(items: RxNode[]): RxNode {
  return { t: "seq", items };
}

export function compileRule(config: RuleConfig | BuiltinRule, priority: number): CompiledRule {
  const id = typeof config.id === "string" ? config.id : String(config.id);
  if (!ID.test(id)) fail(id, "id must match [a-z0-9][a-z0-9-]* (at most 64 characters)");
  if (typeof config.regex !== "string" || config.regex === "") fail(id, "regex must be a non-empty string");
  let source = config.regex;
  let flags = config.flags ?? "";
  if (typeof flags !== "string" || !/^[imsu]*$/.test(flags) || new Set(flags).size !== flags.length) {
    fail(id, 'flags may only contain each of "i", "m", "s", "u" once');
  }
  if (source.startsWith("(?i)")) {
    source = source.slice(4);
    if (!flags.includes("i")) flags += "i";
  }
  let scan: RegExp;
  let sticky: RegExp;
  try {
    scan = new RegExp(source, `${flags}gd`);
    sticky = new RegExp(source, `${flags}yd`);
  } catch (err) {
    fail(id, `regex does not compile: ${(err as Error).message}`);
  }
  if (new RegExp(source, flags).test("")) fail(id, "regex matches the empty string");
  let parsed: ReturnType<typeof parseRegex>;
  try {
    parsed = parseRegex(source, flags.includes("u"));
  } catch (err) {
    fail(id, `unsupported regex syntax: ${(err as Error).message}`);
  }
  const secretGroup = config.secretGroup ?? (parsed.groups > 0 ? 1 : 0);
  if (!Number.isInteger(secretGroup) || secretGroup < 0 || secretGroup > parsed.groups) {
    fail(id, `secretGroup must be an integer from 0 to ${parsed.groups} (the number of capturing groups)`);
  }
  const entropy = config.entropy;
  if (
    entropy !== undefined &&
    (typeof entropy !== "number" || !Number.isFinite(entropy) || entropy < 0 || entropy > 16)
  ) {
    fail(id, "entropy must be a number from 0 to 16 (bits per character)");
  }
  const allow = (config.allowlist ?? []).map((entry) => {
    try {
      return compileAllow(entry);
    } catch {
      throw new RuleConfigError(
        "invalid_allowlist",
        id,
        `rule "${id}": allowlist entry is not a valid regex`,
      );
    }
  });
  if (config.keywords !== undefined) {
    if (!Array.isArray(config.keywords) || config.keywords.some((k) => typeof k !== "string" || k === "")) {
      fail(id, "keywords must be a list of non-empty strings");
    }
  }

  // Split the top-level sequence at the secret group: context (C) before it, the secret and the rest (GT) after.
  const root = parsed.root;
  let context: RxNode[] = [];
  let rest: RxNode[] = [root];
  if (secretGroup > 0 && root.t === "seq") {
    const j = root.items.findIndex((n) => n.t === "group" && n.capture === secretGroup);
    if (j >= 0) {
      context = root.items.slice(0, j);
      rest = root.items.slice(j);
    }
  }
  const contextual = !context.every(zeroWidth);
  const hold = `${full(seq(context), true)}(?=[\\s\\S])${prefixes(seq(rest), !contextual)}`;
  try {
    new RegExp(`(?:${hold})$`, flags);
  } catch (err) {
    fail(id, `cannot derive the stream hold pattern: ${(err as Error).message}`);
  }
  // Anchors of a case-sensitive rule stay case-sensitive: "AKIA" must not hit in "dakiao".
  const ci = flags.includes("i");
  const derived = literalPrefixes(root);
  const anchors = derived === null ? null : [...new Set(ci ? derived.map((a) => a.toLowerCase()) : derived)];
  const keywords = config.keywords ? [...new Set(config.keywords.map((k) => k.toLowerCase()))] : anchors;
  return {
    id,
    description:
      typeof config.description === "string" && config.description !== "" ? config.description : id,
    priority,
    flags,
    scan,
    sticky,
    secretGroup,
    entropy,
    allow,
    validate: "validate" in config ? config.validate : undefined,
    keywords,
    keywordsCi: config.keywords !== undefined || ci,
    anchored: config.keywords === undefined && anchors !== null,
    gate: anchors,
    gateCi: ci,
    contextual,
    contextLength: contextual ? Math.min(maxLength(seq(context)), MAX_CONTEXT) : 0,
    hold,
  };
}

/** An allowlist entry: a JS regex source; a leading `(?i)` becomes the `i` flag. */
export function compileAllow(entry: string): RegExp {
  if (typeof entry !== "string") throw new TypeError("allowlist entries are strings");
  return entry.startsWith("(?i)") ? new RegExp(entry.slice(4), "i") : new RegExp(entry);
}
