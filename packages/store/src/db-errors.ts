// Which errors mean "the database is unreachable" (so the writer spools) rather than "this statement is wrong".

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ENETDOWN",
]);

/** True when `err` says the database could not be reached or the connection broke. */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string") {
    if (NETWORK_CODES.has(code)) return true;
    // SQLSTATE class 08 (connection exception), 57P01..03 (admin/crash shutdown, cannot connect now),
    // 53300 (too many connections), 57014 (statement timeout / cancel).
    if (/^08/.test(code) || /^57P0[1-3]$/.test(code) || code === "53300" || code === "57014") return true;
  }
  const m = err.message;
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|not queryable|Connection ended|socket hang up/i.test(
    m,
  );
}

/** A short description of an error that never includes query parameters or row contents. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === "string" ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
