/**
 * Regex algebra for streaming: from a rule's parsed regex, build
 * - `full(n)`: a regex for (a superset of) the strings n matches;
 * - `prefixes(n)`: a regex for every prefix of those strings (the empty one included);
 * - `literalPrefixes(n)`: the literal strings every match of n starts with (the rule's anchors), if there are any.
 *
 * Supersets are safe here: they make the stream redactor hold text a little longer, never release too early.
 * Assertions are dropped except those at the very start of the match, which only look at text that has
 * already arrived (`\b`, a lookbehind). Capturing groups become non-capturing so that many rules can be
 * joined into one regex.
 */
import type { RxNode } from "./regex-ast.js";

const ANY = "[\\s\\S]";

function zeroWidth(n: RxNode): boolean {
  return (
    n.t === "assert" || (n.t === "seq" && n.items.every(zeroWidth)) || (n.t === "group" && zeroWidth(n.body))
  );
}

/** The node exactly (assertions kept), with capturing groups made non-capturing. For assertion bodies. */
export function exact(n: RxNode): string {
  switch (n.t) {
    case "char":
      return n.src;
    case "assert":
      return n.body === null ? n.kind : `${n.kind}${exact(n.body)})`;
    case "backref":
      throw new Error("back-reference inside an assertion is not supported");
    case "group":
      return `(?:${exact(n.body)})`;
    case "alt":
      return `(?:${n.alts.map(exact).join("|")})`;
    case "seq":
      return n.items.map(exact).join("");
    case "rep":
      return `(?:${exact(n.body)})${quant(n.min, n.max)}${n.lazy ? "?" : ""}`;
  }
}

function quant(min: number, max: number): string {
  if (max === Number.POSITIVE_INFINITY) return min === 0 ? "*" : min === 1 ? "+" : `{${min},}`;
  return min === max ? `{${min}}` : `{${min},${max}}`;
}

function assertion(n: RxNode & { t: "assert" }, atStart: boolean): string {
  return atStart ? exact(n) : "";
}

/** Superset of L(n). `atStart`: n begins at the start of the match (leading assertions are kept). */
export function full(n: RxNode, atStart = false): string {
  switch (n.t) {
    case "char":
      return n.src;
    case "assert":
      return assertion(n, atStart);
    case "backref":
      return `${ANY}*`;
    case "group":
      return `(?:${full(n.body, atStart)})`;
    case "alt":
      return `(?:${n.alts.map((a) => full(a, atStart)).join("|")})`;
    case "seq": {
      let out = "";
      let start = atStart;
      for (const item of n.items) {
        out += full(item, start);
        if (!zeroWidth(item)) start = false;
      }
      return out;
    }
    case "rep":
      if (n.max === 0) return "";
      return `(?:${full(n.body)})${quant(n.min, n.max)}`;
  }
}

/** Every prefix of every string in L(n), including "" and the full strings. */
export function prefixes(n: RxNode, atStart = false): string {
  switch (n.t) {
    case "char":
      return `(?:${n.src})?`;
    case "assert":
      return assertion(n, atStart);
    case "backref":
      return `${ANY}*`;
    case "group":
      return `(?:${prefixes(n.body, atStart)})`;
    case "alt":
      return `(?:${n.alts.map((a) => prefixes(a, atStart)).join("|")})`;
    case "seq":
      return seqPrefixes(n.items, 0, atStart);
    case "rep": {
      if (n.max === 0) return "";
      if (n.body.t === "char") return `(?:${n.body.src})${quant(0, n.max)}`;
      if (n.max === 1) return prefixes(n.body);
      const before = n.max === Number.POSITIVE_INFINITY ? "*" : `{0,${n.max - 1}}`;
      return `(?:(?:${full(n.body)})${before}${prefixes(n.body)})`;
    }
  }
}

function seqPrefixes(items: readonly RxNode[], from: number, atStart: boolean): string {
  if (from >= items.length) return "";
  const item = items[from]!;
  if (item.t === "assert") return assertion(item, atStart) + seqPrefixes(items, from + 1, atStart);
  const rest = seqPrefixes(items, from + 1, false);
  // A single character: its prefixes are "" and itself, so P(c·rest) = (c P(rest))?.
  if (item.t === "char") return `(?:${item.src}${rest})?`;
  if (rest === "") return prefixes(item, atStart);
  return `(?:${prefixes(item, atStart)}|${full(item, atStart)}${rest})`;
}

/** Longest possible match length (Infinity when unbounded). */
export function maxLength(n: RxNode): number {
  switch (n.t) {
    case "char":
      return 1;
    case "assert":
      return 0;
    case "backref":
      return Number.POSITIVE_INFINITY;
    case "group":
      return maxLength(n.body);
    case "alt":
      return Math.max(...n.alts.map(maxLength));
    case "seq":
      return n.items.reduce((sum, item) => sum + maxLength(item), 0);
    case "rep":
      return n.max === 0 ? 0 : n.max * maxLength(n.body);
  }
}

interface Lits {
  lits: string[];
  /** The node matches exactly one of `lits`, nothing else. */
  complete: boolean;
}

const MAX_LITS = 256;

function lits(n: RxNode): Lits | null {
  switch (n.t) {
    case "char":
      return n.ch === null ? null : { lits: [n.ch], complete: true };
    case "assert":
      return { lits: [""], complete: true };
    case "backref":
      return null;
    case "group":
      return lits(n.body);
    case "alt": {
      const out: string[] = [];
      let complete = true;
      for (const a of n.alts) {
        const r = lits(a);
        if (r === null) return null;
        out.push(...r.lits);
        complete &&= r.complete;
      }
      return { lits: [...new Set(out)], complete };
    }
    case "rep": {
      if (n.min === 0) return { lits: [""], complete: false };
      const r = lits(n.body);
      if (r === null) return null;
      return { lits: r.lits, complete: r.complete && n.min === 1 && n.max === 1 };
    }
    case "seq": {
      let acc: Lits = { lits: [""], complete: true };
      for (const item of n.items) {
        const r = lits(item);
        if (r === null) return { lits: acc.lits, complete: false };
        const next: string[] = [];
        for (const a of acc.lits) for (const b of r.lits) next.push(a + b);
        if (next.length > MAX_LITS) return { lits: acc.lits, complete: false };
        acc = { lits: [...new Set(next)], complete: r.complete };
        if (!r.complete) break;
      }
      return acc;
    }
  }
}

/**
 * The literal strings every match of n begins with, or null when some match can begin otherwise (e.g. with a
 * character class). Never contains "".
 */
export function literalPrefixes(n: RxNode): string[] | null {
  const r = lits(n);
  if (r === null || r.lits.length === 0 || r.lits.includes("")) return null;
  return r.lits;
}
