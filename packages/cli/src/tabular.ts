import { type Row, render, renderCsv } from "./output.js";

// Report output: JSON for scripts (full records: numbers, arrays, ISO-8601 times), CSV for spreadsheets (the
// same fields, flattened: arrays space-separated, objects as JSON) and a table that fits a terminal (a compact
// projection chosen per report).

export type Format = "table" | "csv" | "json";

/** Writes `records` in `format`; `table` picks and shortens the columns shown in a terminal. */
export function emit<T extends object>(
  format: Format,
  records: readonly T[],
  table: (r: T) => Row,
  out: NodeJS.WritableStream = process.stdout,
): void {
  if (format === "json") out.write(`${JSON.stringify(records, null, 2)}\n`);
  else if (format === "csv") out.write(records.length === 0 ? "" : renderCsv(records.map(flatten)));
  else out.write(records.length === 0 ? "(no rows)\n" : render("table", records.map(table)));
}

/** One CSV-ready row: every value a string, number, boolean or null. */
export function flatten(r: object): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(r)) {
    if (v === null || v === undefined) out[k] = null;
    else if (v instanceof Date) out[k] = v.toISOString();
    else if (Array.isArray(v))
      out[k] = v.map((x) => (typeof x === "object" ? JSON.stringify(x) : String(x))).join(" ");
    else if (typeof v === "object") out[k] = JSON.stringify(v);
    else out[k] = v as string | number | boolean;
  }
  return out;
}

/** `2026-11-24 10:10:55` (UTC), for tables. */
export function utc(d: Date | null | undefined): string {
  return d ? d.toISOString().slice(0, 19).replace("T", " ") : "";
}

/** A user as one short cell: the email if known, else the subject. */
export function who(subject: string | null | undefined, email: string | null | undefined): string {
  return email ?? subject ?? "(anonymous)";
}

/**
 * The end of an id, for tables: ids are time-ordered (UUIDv7), so ids made close together share their
 * beginning; `sessions show` accepts the end as well as the whole id.
 */
export function shortId(id: string | null | undefined): string {
  return id ? id.slice(-12) : "";
}

/** Bytes as B / kB / MB. */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "";
  if (n < 1000) return `${n} B`;
  if (n < 1_000_000) return `${(n / 1000).toFixed(1)} kB`;
  return `${(n / 1_000_000).toFixed(1)} MB`;
}

/** Milliseconds as ms / s / min. */
export function millis(n: number | null | undefined): string {
  if (n === null || n === undefined) return "";
  if (n < 1000) return `${n} ms`;
  if (n < 120_000) return `${(n / 1000).toFixed(1)} s`;
  return `${(n / 60_000).toFixed(1)} min`;
}
