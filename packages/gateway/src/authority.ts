import { isIP } from "node:net";
import { isValidHostname, normalizeHost } from "./hosts.js";

/** A parsed `host:port` authority (CONNECT target or absolute-URI host). */
export interface Authority {
  /** Normalised: lower case, no trailing dot, IPv6 without brackets. */
  readonly host: string;
  readonly port: number;
  readonly isIp: boolean;
}

export type AuthorityResult = { ok: true; value: Authority } | { ok: false; reason: string };

/**
 * Parses the request-target of a CONNECT (`host:port`, `[v6]:port`). The port is mandatory
 * (RFC 9110 §9.3.6); we never guess 443, because a client that omits it is misconfigured.
 */
export function parseConnectTarget(target: string | undefined): AuthorityResult {
  if (!target) return { ok: false, reason: "CONNECT has no target: expected host:port" };
  if (/[\s/@?#]/.test(target)) {
    return { ok: false, reason: `CONNECT target "${printable(target)}" is not host:port` };
  }
  let hostPart: string;
  let portPart: string | undefined;
  if (target.startsWith("[")) {
    const close = target.indexOf("]");
    if (close < 0) return { ok: false, reason: `CONNECT target "${printable(target)}" has an unclosed [` };
    hostPart = target.slice(1, close);
    const rest = target.slice(close + 1);
    if (rest === "") portPart = undefined;
    else if (rest.startsWith(":")) portPart = rest.slice(1);
    else return { ok: false, reason: `CONNECT target "${printable(target)}" is not [host]:port` };
    if (isIP(hostPart) !== 6) return { ok: false, reason: `"${printable(hostPart)}" is not an IPv6 address` };
  } else {
    const colon = target.lastIndexOf(":");
    if (colon < 0) {
      hostPart = target;
      portPart = undefined;
    } else {
      hostPart = target.slice(0, colon);
      portPart = target.slice(colon + 1);
      if (hostPart.includes(":")) {
        return { ok: false, reason: `IPv6 CONNECT targets must be bracketed: [${printable(hostPart)}]:port` };
      }
    }
  }
  if (portPart === undefined) {
    return {
      ok: false,
      reason: `CONNECT target "${printable(target)}" has no port: expected ${printable(target)}:443`,
    };
  }
  const port = parsePort(portPart);
  if (port === null) return { ok: false, reason: `CONNECT port "${printable(portPart)}" is not 1-65535` };
  const host = normalizeHost(hostPart);
  const isIp = isIP(host) !== 0;
  if (!isIp && !isValidHostname(host)) {
    return { ok: false, reason: `CONNECT host "${printable(hostPart)}" is not a valid hostname` };
  }
  return { ok: true, value: { host, port, isIp } };
}

/** Parses a Host header value (`host`, `host:port`, `[v6]:port`) with a default port. */
export function parseHostHeader(value: string | undefined, defaultPort: number): Authority | null {
  if (!value) return null;
  const hasPort = value.startsWith("[") ? /\]:\d+$/.test(value) : /^[^:]+:\d+$/.test(value);
  const r = parseConnectTarget(hasPort ? value : `${value}:${defaultPort}`);
  return r.ok ? r.value : null;
}

export function parsePort(text: string): number | null {
  if (!/^\d{1,5}$/.test(text)) return null;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : null;
}

export function formatAuthority(a: { host: string; port: number }): string {
  return `${a.host.includes(":") ? `[${a.host}]` : a.host}:${a.port}`;
}

/** Makes untrusted input safe to echo in a one-line message. */
export function printable(text: string, max = 200): string {
  const clean = text.replace(/[^\x20-\x7e]/g, "?");
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
