/**
 * The detector: one pass over the text for all rule keywords (the prefilter), then each triggered rule's regex
 * (at the keyword hits when the keyword is where a match starts), then allowlists, entropy and checksum, then
 * overlapping findings merged. Immutable after creation; share one instance.
 *
 * For streams it also answers "from where could an unfinished secret be starting?" (`step`), from each rule's
 * hold pattern (rule.ts), so the stream redactor can release everything before that point at once.
 */
import { shannonEntropy } from "./entropy.js";
import { RuleConfigError } from "./errors.js";
import { type Hits, KeywordIndex } from "./keywords.js";
import { type CompiledRule, compileAllow, compileRule } from "./rule.js";
import { BUILTIN_RULES } from "./rules.js";
import type { Detection, RuleConfig } from "./types.js";

export interface DetectorConfig {
  /** Custom rules, added after the built-in ones (lower priority on overlap). */
  rules?: RuleConfig[];
  /** Rule ids (built-in or custom) to leave out. */
  disable?: string[];
  /** Regexes tested against every detected secret; a match drops it. A leading `(?i)` becomes the `i` flag. */
  allowlist?: string[];
}

/** A detection inside a stream window, with the whole regex match around the secret. */
export interface WindowDetection extends Detection {
  matchStart: number;
  matchEnd: number;
}

/** What the stream redactor may do with `text` after `released` (everything before it was already sent). */
export interface StepResult {
  /** Secrets that end after `released`, sorted, not overlapping. */
  detections: WindowDetection[];
  /** Hold everything from here on: a secret may be starting (text.length when nothing needs holding). */
  hold: number;
}

export interface Detector {
  readonly ruleIds: readonly string[];
  /** Longest text before a secret that a rule needs to see (the stream redactor keeps this much context). */
  readonly contextLength: number;
  /** All secrets in `text`, sorted by start, not overlapping. No copy of a secret is kept beyond the call. */
  scan(text: string): Detection[];
  /** Stream step: detections after `released`, and where to hold (`final`: the text will not grow). */
  step(text: string, released: number, final: boolean): StepResult;
  /** Id of a rule whose secret could be starting at `at` (for labelling held text that is forced out). */
  ruleHoldingAt(text: string, at: number): string | undefined;
}

interface HoldGroup {
  re: RegExp;
  contextual: boolean;
  /** Rules whose gate must be open; null = always run. */
  gated: number[] | null;
}

const MASK_MARK = "[REDACTED:";

class DetectorImpl implements Detector {
  readonly ruleIds: readonly string[];
  readonly contextLength: number;
  private readonly rules: CompiledRule[];
  private readonly allow: RegExp[];
  private readonly keywords: KeywordIndex;
  private readonly holdGroups: HoldGroup[] = [];

  constructor(rules: CompiledRule[], allow: RegExp[]) {
    this.rules = rules;
    this.allow = allow;
    this.ruleIds = rules.map((r) => r.id);
    this.contextLength = Math.max(16, ...rules.map((r) => r.contextLength + 8));

    this.keywords = new KeywordIndex(rules);

    // One hold regex per (flags, contextual, gated) group of rules.
    const groups = new Map<
      string,
      { rules: number[]; sources: string[]; flags: string; contextual: boolean; gated: boolean }
    >();
    rules.forEach((r, i) => {
      const gated = r.gate !== null;
      const key = `${r.flags}|${r.contextual}|${gated}`;
      const g = groups.get(key) ?? {
        rules: [],
        sources: [],
        flags: r.flags,
        contextual: r.contextual,
        gated,
      };
      g.rules.push(i);
      g.sources.push(r.hold);
      groups.set(key, g);
    });
    for (const g of groups.values()) {
      this.holdGroups.push({
        re: new RegExp(`(?:${g.sources.join("|")})$`, `${g.flags}g`),
        contextual: g.contextual,
        gated: g.gated ? g.rules : null,
      });
    }
  }

  scan(text: string): Detection[] {
    return this.scanFrom(text, 0, this.keywords.hits(text, 0)).map(({ ruleId, description, start, end }) => ({
      ruleId,
      description,
      start,
      end,
    }));
  }

  step(text: string, released: number, final: boolean): StepResult {
    const from = Math.max(0, released - this.contextLength);
    const hits = this.keywords.hits(text, from);
    const detections = this.scanFrom(text, from, hits).filter((d) => d.end > released);
    let hold = text.length;
    if (!final) {
      const prefixOpen = this.keywords.partialAtEnd(text, released);
      for (const g of this.holdGroups) {
        if (g.gated !== null) {
          const open = g.contextual
            ? g.gated.some((r) => hits.gateLast[r]! >= from)
            : prefixOpen || g.gated.some((r) => hits.gateLast[r]! >= released);
          if (!open) continue;
        }
        g.re.lastIndex = g.contextual ? from : released;
        const m = g.re.exec(text);
        if (m !== null) hold = Math.min(hold, Math.max(m.index, released));
      }
    }
    return { detections, hold };
  }

  ruleHoldingAt(text: string, at: number): string | undefined {
    const from = Math.max(0, at - this.contextLength);
    for (const r of this.rules) {
      const re = new RegExp(`(?:${r.hold})$`, `${r.flags}g`);
      re.lastIndex = r.contextual ? from : at;
      const m = re.exec(text);
      if (m !== null && Math.max(m.index, at) <= at) return r.id;
    }
    return undefined;
  }

  private scanFrom(text: string, from: number, hits: Hits): WindowDetection[] {
    const found: Array<WindowDetection & { priority: number }> = [];
    const add = (rule: CompiledRule, m: RegExpExecArray): void => {
      let start: number;
      let end: number;
      if (rule.secretGroup === 0) {
        start = m.index;
        end = start + m[0].length;
      } else {
        const span = m.indices?.[rule.secretGroup];
        if (span === undefined) return;
        [start, end] = span;
      }
      if (end <= start || !this.accept(rule, text.slice(start, end))) return;
      const matchStart = m.index;
      const matchEnd = m.index + m[0].length;
      found.push({
        ruleId: rule.id,
        description: rule.description,
        start,
        end,
        matchStart,
        matchEnd,
        priority: rule.priority,
      });
    };
    for (let i = 0; i < this.rules.length; i++) {
      const rule = this.rules[i]!;
      const positions = hits.kw[i];
      if (rule.keywords !== null && positions === undefined) continue;
      if (rule.anchored && positions !== undefined) {
        positions.sort((a, b) => a - b);
        let next = from;
        for (const p of positions) {
          if (p < next) continue;
          rule.sticky.lastIndex = p;
          const m = rule.sticky.exec(text);
          if (m === null || m[0].length === 0) continue;
          add(rule, m);
          next = m.index + m[0].length;
        }
      } else {
        rule.scan.lastIndex = from;
        for (let m = rule.scan.exec(text); m !== null; m = rule.scan.exec(text)) {
          if (m[0].length === 0) {
            rule.scan.lastIndex++;
            continue;
          }
          add(rule, m);
        }
      }
    }
    if (found.length <= 1) return found;
    found.sort((a, b) => a.start - b.start || a.priority - b.priority || b.end - a.end);
    const merged: WindowDetection[] = [];
    for (const d of found) {
      const last = merged[merged.length - 1];
      if (last !== undefined && d.start < last.end) {
        last.end = Math.max(last.end, d.end);
        last.matchEnd = Math.max(last.matchEnd, d.matchEnd);
        last.matchStart = Math.min(last.matchStart, d.matchStart);
      } else merged.push(d);
    }
    return merged;
  }

  private accept(rule: CompiledRule, secret: string): boolean {
    if (secret.includes(MASK_MARK)) return false;
    for (const re of rule.allow) if (re.test(secret)) return false;
    for (const re of this.allow) if (re.test(secret)) return false;
    if (rule.entropy !== undefined && shannonEntropy(secret) <= rule.entropy) return false;
    return rule.validate === undefined || rule.validate(secret);
  }
}

/** Ids of the built-in rules, in priority order. */
export const BUILTIN_RULE_IDS: readonly string[] = BUILTIN_RULES.map((r) => r.id);

/**
 * Build a detector from the built-in rules plus `config.rules`, without `config.disable`. Throws RuleConfigError
 * (`invalid_rule`, `duplicate_rule`, `unknown_rule`, `invalid_allowlist`) naming the rule.
 */
export function createDetector(config: DetectorConfig = {}): Detector {
  const custom = config.rules ?? [];
  const disable = new Set(config.disable ?? []);
  const known = new Set([...BUILTIN_RULES.map((r) => r.id), ...custom.map((r) => r.id)]);
  for (const id of disable) {
    if (!known.has(id)) throw new RuleConfigError("unknown_rule", id, `disable: no rule has the id "${id}"`);
  }
  const builtinIds = new Set(BUILTIN_RULES.map((r) => r.id));
  const seen = new Set<string>();
  const compiled: CompiledRule[] = [];
  for (const rule of [...BUILTIN_RULES, ...custom]) {
    // `disable` removes the built-in rule of that id; a custom rule of the same id then replaces it.
    const isBuiltin = BUILTIN_RULES.includes(rule as (typeof BUILTIN_RULES)[number]);
    if (disable.has(rule.id) && (isBuiltin || !builtinIds.has(rule.id))) continue;
    if (seen.has(rule.id)) {
      throw new RuleConfigError(
        "duplicate_rule",
        rule.id,
        `rule "${rule.id}" is defined twice (disable the built-in one to replace it)`,
      );
    }
    seen.add(rule.id);
    compiled.push(compileRule(rule, compiled.length));
  }
  const allow = (config.allowlist ?? []).map((entry, i) => {
    try {
      return compileAllow(entry);
    } catch {
      throw new RuleConfigError(
        "invalid_allowlist",
        `allowlist[${i}]`,
        `allowlist[${i}] is not a valid regex`,
      );
    }
  });
  return new DetectorImpl(compiled, allow);
}
