import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";

/** Hop-by-hop headers (RFC 9110 §7.6.1) plus the proxy headers that are ours to consume. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

function connectionTokens(connection: string | string[] | undefined): Set<string> {
  const out = new Set<string>();
  for (const v of Array.isArray(connection) ? connection : connection ? [connection] : []) {
    for (const t of v.split(",")) {
      const token = t.trim().toLowerCase();
      if (token) out.add(token);
    }
  }
  return out;
}

/**
 * End-to-end headers from a raw header list, keeping the sender's spelling and order. Repeated
 * headers become arrays. Hop-by-hop headers and those named in `Connection` are dropped, as are
 * `Proxy-Authorization` and friends, which are never forwarded upstream.
 */
export function endToEndHeaders(rawHeaders: readonly string[]): OutgoingHttpHeaders {
  const connection: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] as string).toLowerCase() === "connection")
      connection.push(rawHeaders[i + 1] as string);
  }
  const drop = connectionTokens(connection);
  const out: OutgoingHttpHeaders = {};
  const spelled = new Map<string, string>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || drop.has(lower) || lower.startsWith("proxy-")) continue;
    const value = rawHeaders[i + 1] as string;
    const key = spelled.get(lower);
    if (key === undefined) {
      spelled.set(lower, name);
      out[name] = value;
    } else {
      const prev = out[key];
      out[key] = Array.isArray(prev) ? [...prev, value] : [String(prev), value];
    }
  }
  return out;
}

/** Finds a header in an OutgoingHttpHeaders object whatever its spelling. */
export function headerKey(headers: OutgoingHttpHeaders, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const k of Object.keys(headers)) if (k.toLowerCase() === lower) return k;
  return undefined;
}

export function deleteHeader(headers: OutgoingHttpHeaders, name: string): void {
  const k = headerKey(headers, name);
  if (k !== undefined) delete headers[k];
}

export function setHeader(headers: OutgoingHttpHeaders, name: string, value: string | number): void {
  deleteHeader(headers, name);
  headers[name] = value;
}

export function getHeader(
  headers: OutgoingHttpHeaders | IncomingHttpHeaders,
  name: string,
): string | undefined {
  const k = headerKey(headers as OutgoingHttpHeaders, name);
  if (k === undefined) return undefined;
  const v = (headers as OutgoingHttpHeaders)[k];
  return Array.isArray(v) ? v.join(", ") : v === undefined ? undefined : String(v);
}
