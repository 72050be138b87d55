/**
 * A small parser for JavaScript regular expressions (no `v` flag), enough to reason about a rule's regex:
 * which literal prefixes every match starts with, and which strings are prefixes of a match (regex-prefix.ts).
 * The JavaScript engine stays the authority on syntax: rules are also compiled with `new RegExp`.
 */

export type AssertKind = "^" | "$" | "\\b" | "\\B" | "(?=" | "(?!" | "(?<=" | "(?<!";

export type RxNode =
  /** One character: `ch` is set when the atom is one specific character (`a`, `\.`, `\x41`), else null. */
  | { t: "char"; ch: string | null; src: string }
  | { t: "assert"; kind: AssertKind; body: RxNode | null }
  | { t: "backref"; src: string }
  /** capture: group number, 0 for a non-capturing group. */
  | { t: "group"; capture: number; body: RxNode }
  | { t: "alt"; alts: RxNode[] }
  | { t: "seq"; items: RxNode[] }
  | { t: "rep"; body: RxNode; min: number; max: number; lazy: boolean };

export interface ParsedRegex {
  root: RxNode;
  /** Number of capturing groups. */
  groups: number;
}

export class RegexSyntaxError extends Error {}

const QUANTIFIER = /^\{(\d+)(?:(,)(\d*))?\}/;

export function parseRegex(source: string, unicode: boolean): ParsedRegex {
  const p = new Parser(source, unicode);
  const root = p.alternation();
  if (p.i < source.length) throw new RegexSyntaxError(`unbalanced ")" at ${p.i}`);
  return { root, groups: p.groups };
}

class Parser {
  i = 0;
  groups = 0;
  constructor(
    private readonly s: string,
    private readonly u: boolean,
  ) {}

  alternation(): RxNode {
    const alts = [this.sequence()];
    while (this.s[this.i] === "|") {
      this.i++;
      alts.push(this.sequence());
    }
    return alts.length === 1 ? alts[0]! : { t: "alt", alts };
  }

  private sequence(): RxNode {
    const items: RxNode[] = [];
    while (this.i < this.s.length && this.s[this.i] !== "|" && this.s[this.i] !== ")") {
      const atom = this.atom();
      const q = this.quantifier();
      if (q === null) items.push(atom);
      else if (atom.t === "assert") {
        // Annex B allows a quantified lookahead; a quantifier on an assertion changes nothing we reason about.
        if (atom.kind === "(?=" || atom.kind === "(?!") items.push(q.min === 0 ? emptySeq() : atom);
        else throw new RegexSyntaxError(`nothing to repeat at ${this.i}`);
      } else items.push({ t: "rep", body: atom, min: q.min, max: q.max, lazy: q.lazy });
    }
    return items.length === 1 ? items[0]! : { t: "seq", items };
  }

  private quantifier(): { min: number; max: number; lazy: boolean } | null {
    const c = this.s[this.i];
    let min: number;
    let max: number;
    if (c === "*") [min, max] = [0, Number.POSITIVE_INFINITY];
    else if (c === "+") [min, max] = [1, Number.POSITIVE_INFINITY];
    else if (c === "?") [min, max] = [0, 1];
    else if (c === "{") {
      const m = QUANTIFIER.exec(this.s.slice(this.i));
      if (!m) return null;
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === "" ? Number.POSITIVE_INFINITY : Number(m[3]);
      if (max < min) throw new RegexSyntaxError("numbers out of order in {} quantifier");
      this.i += m[0].length - 1;
    } else return null;
    this.i++;
    let lazy = false;
    if (this.s[this.i] === "?") {
      lazy = true;
      this.i++;
    }
    return { min, max, lazy };
  }

  private atom(): RxNode {
    const s = this.s;
    const start = this.i;
    const c = s[this.i]!;
    switch (c) {
      case "^":
      case "$":
        this.i++;
        return { t: "assert", kind: c, body: null };
      case ".":
        this.i++;
        return { t: "char", ch: null, src: "." };
      case "(":
        return this.group();
      case "[":
        return this.charClass();
      case "\\":
        return this.escape();
      case "*":
      case "+":
      case "?":
        throw new RegexSyntaxError(`nothing to repeat at ${start}`);
      case "{":
        if (this.u || QUANTIFIER.test(s.slice(this.i)))
          throw new RegexSyntaxError(`nothing to repeat at ${start}`);
        this.i++;
        return { t: "char", ch: "{", src: "\\{" };
      case "}":
      case "]":
        if (this.u) throw new RegexSyntaxError(`lone "${c}" at ${start}`);
        this.i++;
        return { t: "char", ch: c, src: `\\${c}` };
      default: {
        const cp = this.u ? (s.codePointAt(this.i) ?? 0) : s.charCodeAt(this.i);
        const ch = String.fromCodePoint(cp);
        this.i += ch.length;
        return { t: "char", ch, src: ch };
      }
    }
  }

  private group(): RxNode {
    const s = this.s;
    this.i++; // (
    let kind: AssertKind | null = null;
    let capture = 0;
    if (s.startsWith("?:", this.i)) this.i += 2;
    else if (s.startsWith("?=", this.i) || s.startsWith("?!", this.i)) {
      kind = s.startsWith("?=", this.i) ? "(?=" : "(?!";
      this.i += 2;
    } else if (s.startsWith("?<=", this.i) || s.startsWith("?<!", this.i)) {
      kind = s.startsWith("?<=", this.i) ? "(?<=" : "(?<!";
      this.i += 3;
    } else if (s.startsWith("?<", this.i)) {
      const close = s.indexOf(">", this.i);
      if (close < 0) throw new RegexSyntaxError("unterminated group name");
      this.i = close + 1;
      capture = ++this.groups;
    } else if (s[this.i] === "?") {
      throw new RegexSyntaxError(
        `unsupported group syntax "(${s.slice(this.i, this.i + 3)}" (inline flags are not JavaScript)`,
      );
    } else capture = ++this.groups;
    const body = this.alternation();
    if (s[this.i] !== ")") throw new RegexSyntaxError("unterminated group");
    this.i++;
    if (kind !== null) return { t: "assert", kind, body };
    return { t: "group", capture, body };
  }

  private charClass(): RxNode {
    const s = this.s;
    const start = this.i;
    this.i++; // [
    if (s[this.i] === "^") this.i++;
    while (this.i < s.length && s[this.i] !== "]") {
      this.i += s[this.i] === "\\" ? 2 : 1;
    }
    if (this.i >= s.length) throw new RegexSyntaxError("unterminated character class");
    this.i++;
    return { t: "char", ch: null, src: s.slice(start, this.i) };
  }

  private escape(): RxNode {
    const s = this.s;
    const start = this.i;
    const c = s[this.i + 1];
    if (c === undefined) throw new RegexSyntaxError("\\ at end of pattern");
    this.i += 2;
    const lit = (ch: string): RxNode => ({ t: "char", ch, src: s.slice(start, this.i) });
    switch (c) {
      case "d":
      case "D":
      case "w":
      case "W":
      case "s":
      case "S":
        return { t: "char", ch: null, src: `\\${c}` };
      case "b":
      case "B":
        return { t: "assert", kind: c === "b" ? "\\b" : "\\B", body: null };
      case "t":
        return lit("\t");
      case "n":
        return lit("\n");
      case "r":
        return lit("\r");
      case "v":
        return lit("\v");
      case "f":
        return lit("\f");
      case "0":
        return lit("\0");
      case "x": {
        const hex = s.slice(this.i, this.i + 2);
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) return lit("x");
        this.i += 2;
        return lit(String.fromCharCode(Number.parseInt(hex, 16)));
      }
      case "u": {
        if (this.u && s[this.i] === "{") {
          const close = s.indexOf("}", this.i);
          if (close < 0) throw new RegexSyntaxError("unterminated \\u{");
          const cp = Number.parseInt(s.slice(this.i + 1, close), 16);
          this.i = close + 1;
          return lit(String.fromCodePoint(cp));
        }
        const hex = s.slice(this.i, this.i + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) return lit("u");
        this.i += 4;
        return lit(String.fromCharCode(Number.parseInt(hex, 16)));
      }
      case "c": {
        const letter = s[this.i];
        if (letter !== undefined && /[A-Za-z]/.test(letter)) {
          this.i++;
          return lit(String.fromCharCode(letter.charCodeAt(0) % 32));
        }
        return lit("\\");
      }
      case "p":
      case "P":
        if (this.u && s[this.i] === "{") {
          const close = s.indexOf("}", this.i);
          if (close < 0) throw new RegexSyntaxError("unterminated \\p{");
          this.i = close + 1;
          return { t: "char", ch: null, src: s.slice(start, this.i) };
        }
        return lit(c);
      case "k":
        if (s[this.i] === "<") {
          const close = s.indexOf(">", this.i);
          if (close < 0) throw new RegexSyntaxError("unterminated \\k<");
          this.i = close + 1;
          return { t: "backref", src: s.slice(start, this.i) };
        }
        return lit("k");
      default:
        if (c >= "1" && c <= "9") {
          while (this.i < s.length && s[this.i]! >= "0" && s[this.i]! <= "9") this.i++;
          return { t: "backref", src: s.slice(start, this.i) };
        }
        return lit(c);
    }
  }
}

function emptySeq(): RxNode {
  return { t: "seq", items: [] };
}
