/**
 * The prefilter: every rule keyword and stream-gate literal, found in one pass per case mode (a regex
 * alternation; V8 runs it faster than a hand-written scan), mapped back to the rules they trigger.
 */
import type { CompiledRule } from "./rule.js";

interface LiteralHit {
  rule: number;
  offset: number;
  keyword: boolean;
  gate: boolean;
}

export interface Hits {
  /** Per rule: match start positions suggested by keyword hits (undefined: no hit). */
  kw: Array<number[] | undefined>;
  /** Per rule: last position of a gate literal hit, -1 if none. */
  gateLast: Int32Array;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}

/** One alternation of literals (case-sensitive or not) and what a hit of each literal means. */
interface LiteralSet {
  re: RegExp;
  ci: boolean;
  index: Map<string, LiteralHit[]>;
}

export class KeywordIndex {
  private readonly literalSets: LiteralSet[] = [];
  /** Lower-case proper prefixes of the anchors of prefix rules (a secret may start with the text's last chars). */
  private readonly partials = new Set<string>();
  private readonly maxPartial: number;
  /** The answer when nothing matched (shared, never written to). */
  private readonly none: Hits;

  constructor(private readonly rules: readonly CompiledRule[]) {
    for (const ci of [false, true]) {
      const literals = new Map<string, Array<{ rule: number; keyword: boolean; gate: boolean }>>();
      const add = (lit: string, entry: { rule: number; keyword: boolean; gate: boolean }) =>
        literals.set(lit, [...(literals.get(lit) ?? []), entry]);
      rules.forEach((r, i) => {
        if (r.keywordsCi === ci)
          for (const k of r.keywords ?? []) add(k, { rule: i, keyword: true, gate: false });
        if (r.gateCi === ci) for (const k of r.gate ?? []) add(k, { rule: i, keyword: false, gate: true });
      });
      if (literals.size === 0) continue;
      // A hit of literal L also counts for every literal inside L (the alternation reports one per position).
      const index = new Map<string, LiteralHit[]>();
      for (const big of literals.keys()) {
        const hits: LiteralHit[] = [];
        for (const [small, owners] of literals) {
          for (let at = big.indexOf(small); at >= 0; at = big.indexOf(small, at + 1)) {
            for (const o of owners) hits.push({ ...o, offset: at });
          }
        }
        index.set(big, hits);
      }
      const sorted = [...literals.keys()].sort((a, b) => b.length - a.length);
      this.literalSets.push({
        re: new RegExp(sorted.map(escapeRegex).join("|"), ci ? "gi" : "g"),
        ci,
        index,
      });
    }

    for (const r of rules) {
      if (r.contextual || r.gate === null) continue;
      for (const a of r.gate)
        for (let n = 1; n < a.length; n++) this.partials.add(a.slice(0, n).toLowerCase());
    }
    this.maxPartial = Math.max(0, ...[...this.partials].map((p) => p.length));
    this.none = { kw: new Array(rules.length), gateLast: new Int32Array(rules.length).fill(-1) };
  }

  /** Keyword and gate hits in `text` from `from` on. */
  hits(text: string, from: number): Hits {
    // Allocated on the first hit only: most strings of most events have none.
    let kw: Array<number[] | undefined> | undefined;
    let gateLast: Int32Array | undefined;
    for (const set of this.literalSets) {
      const re = set.re;
      re.lastIndex = from;
      for (let m = re.exec(text); m !== null; m = re.exec(text)) {
        const p = m.index;
        const entries = set.index.get(set.ci ? m[0].toLowerCase() : m[0]);
        if (entries !== undefined) {
          kw ??= new Array(this.rules.length);
          gateLast ??= new Int32Array(this.rules.length).fill(-1);
          for (const e of entries) {
            const at = p + e.offset;
            if (e.keyword) {
              const list = kw[e.rule];
              if (list === undefined) kw[e.rule] = [at];
              else list.push(at);
            }
            if (e.gate && at > gateLast[e.rule]!) gateLast[e.rule] = at;
          }
        }
        re.lastIndex = p + 1;
      }
    }
    return kw === undefined || gateLast === undefined ? this.none : { kw, gateLast };
  }

  /** The text ends with the beginning of a prefix rule's anchor (after `released`). */
  partialAtEnd(text: string, released: number): boolean {
    const n = Math.min(this.maxPartial, text.length - released);
    for (let len = 1; len <= n; len++) {
      if (this.partials.has(text.slice(text.length - len).toLowerCase())) return true;
    }
    return false;
  }
}
