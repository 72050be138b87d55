import { isIP } from "node:net";

/**
 * The Copilot hostnames intercepted by default (../shared/copilot-wire.md). Everything else is tunnelled
 * byte for byte. `api.github.com` is intercepted so that the token exchange (`/copilot_internal/*`) is
 * recorded; its other paths pass through the interception unchanged.
 */
export const DEFAULT_INTERCEPT_HOSTS: readonly string[] = Object.freeze([
  "*.githubcopilot.com",
  "copilot-proxy.githubusercontent.com",
  "origin-tracker.githubusercontent.com",
  "copilot-telemetry.githubusercontent.com",
  "api.github.com",
]);

/** Lower-cases a hostname, strips one trailing dot and IPv6 brackets. */
export function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith("[") && h.endsWith("]")) h = h.slice(1, -1);
  if (h.endsWith(".")) h = h.slice(0, -1);
  return h;
}

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

/** True for a syntactically valid DNS name (letters, digits, `-`, `_`; labels ≤ 63; total ≤ 253). */
export function isValidHostname(host: string): boolean {
  if (host.length === 0 || host.length > 253) return false;
  return host.split(".").every((label) => LABEL.test(label));
}

export function isIpAddress(host: string): boolean {
  return isIP(normalizeHost(host)) !== 0;
}

/** One pattern: an exact host (`api.github.com`) or `*.domain` (any depth of subdomain, never the apex). */
export interface HostPattern {
  readonly pattern: string;
  readonly exact: string | null;
  /** For `*.githubcopilot.com`: `.githubcopilot.com`. */
  readonly suffix: string | null;
}

export class InvalidHostPatternError extends Error {
  readonly code = "invalid_host_pattern";
}

export function parseHostPattern(input: string): HostPattern {
  const pattern = normalizeHost(input);
  if (pattern.startsWith("*.")) {
    const domain = pattern.slice(2);
    if (!isValidHostname(domain) || !domain.includes(".")) {
      throw new InvalidHostPatternError(
        `"${input}" is not a valid wildcard: expected *.domain.tld (the wildcard matches any subdomain)`,
      );
    }
    return { pattern, exact: null, suffix: `.${domain}` };
  }
  if (pattern.includes("*")) {
    throw new InvalidHostPatternError(`"${input}": only a leading "*." wildcard is supported`);
  }
  if (isIpAddress(pattern)) {
    throw new InvalidHostPatternError(
      `"${input}": intercepted hosts must be DNS names (clients connect to Copilot by name); use --resolve NAME=IP:PORT to send a name to a particular address`,
    );
  }
  if (!isValidHostname(pattern)) throw new InvalidHostPatternError(`"${input}" is not a valid hostname`);
  return { pattern, exact: pattern, suffix: null };
}

/** Decides whether a hostname is intercepted. Exact names hit a Set; wildcards are suffix checks. */
export class HostMatcher {
  readonly patterns: readonly HostPattern[];
  readonly #exact: Set<string>;
  readonly #suffixes: string[];

  constructor(patterns: readonly string[]) {
    this.patterns = patterns.map(parseHostPattern);
    this.#exact = new Set(this.patterns.flatMap((p) => (p.exact ? [p.exact] : [])));
    this.#suffixes = this.patterns.flatMap((p) => (p.suffix ? [p.suffix] : []));
  }

  matches(host: string): boolean {
    const h = normalizeHost(host);
    if (this.#exact.has(h)) return true;
    for (const suffix of this.#suffixes) {
      if (h.length > suffix.length && h.endsWith(suffix)) return true;
    }
    return false;
  }

  /** The non-wildcard names, minted at start so the first request to them pays no certificate cost. */
  exactHosts(): string[] {
    return [...this.#exact];
  }

  /**
   * The DNS subtrees a name-constrained CA must permit to cover every pattern: `*.x.com` → `x.com`,
   * `a.x.com` → `a.x.com` (an X.509 dNSName constraint covers the name and all its subdomains).
   */
  permittedSubtrees(): string[] {
    const names = this.patterns.map((p) => (p.suffix ? p.suffix.slice(1) : (p.exact as string)));
    // Drop names already covered by a broader one.
    const unique = [...new Set(names)];
    return unique.filter((n) => !unique.some((o) => o !== n && n.endsWith(`.${o}`))).sort();
  }
}

/** True when `host` lies within the dNSName subtree `subtree` (RFC 5280 §4.2.1.10). */
export function withinSubtree(host: string, subtree: string): boolean {
  const h = normalizeHost(host);
  const s = normalizeHost(subtree.startsWith(".") ? subtree.slice(1) : subtree);
  return h === s || h.endsWith(`.${s}`);
}

/**
 * The patterns a name-constrained CA cannot issue for (its leaves would be rejected by clients).
 * `permitted` null = unconstrained CA.
 */
export function patternsOutsideConstraints(
  patterns: readonly HostPattern[],
  permitted: readonly string[] | null,
): string[] {
  if (permitted === null) return [];
  return patterns
    .filter((p) => {
      const name = p.suffix ? p.suffix.slice(1) : (p.exact as string);
      return !permitted.some((sub) => withinSubtree(name, sub));
    })
    .map((p) => p.pattern);
}
