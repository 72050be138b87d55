import { createHash } from "node:crypto";
import { type ColumnType, type Row, type RowValue, TABLES, type TableSpec } from "./columns.js";
import { RecordInvalidError } from "./errors.js";
import type { AuditTable, JsonObject, JsonValue } from "./schema.js";

// The canonical form of an audit row and its chain hash.
//
//   hash = sha256(prev_hash ‖ canonical(row))
//   canonical(row) = JSON array [table, v1, v2, …] over every column but prev_hash and hash, in TABLES order,
//   where each value is rendered by type: uuid lower-case; int/bigint decimal strings; timestamptz ISO-8601
//   (UTC, ms); jsonb as key-sorted JSON text; bytea and large text (bodies, prompt, completion) as
//   "sha256:<hex>" of their stored bytes; NULL as null.
//
// The same function renders a row about to be written (normalised JS values) and a row read back from pg or
// PGlite (bigint strings, Date, Buffer/Uint8Array, parsed jsonb), so verify recomputes exactly what was hashed.

/** prev_hash of a chain's genesis row. */
export const GENESIS_HASH = "0".repeat(64);

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Makes a string storable as PostgreSQL text without change: no NUL, no lone surrogate. */
export function cleanText(s: string): string {
  let out = s;
  if (out.includes("\u0000")) out = out.replaceAll("\u0000", "\uFFFD");
  LONE_SURROGATE.lastIndex = 0;
  if (LONE_SURROGATE.test(out)) {
    LONE_SURROGATE.lastIndex = 0;
    out = out.replace(LONE_SURROGATE, "\uFFFD");
  }
  return out;
}

function invalid(table: string, column: string, what: string): never {
  throw new RecordInvalidError(`${table}.${column}: ${what}`);
}

/** Converts a value to the exact form the database will return, so the hash survives the round trip. */
export function normalizeValue(table: string, column: string, type: ColumnType, value: unknown): RowValue {
  if (value === null || value === undefined) return null;
  switch (type) {
    case "uuid":
      if (
        typeof value !== "string" ||
        !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)
      )
        invalid(table, column, "not a uuid");
      return value.toLowerCase();
    case "text":
    case "bigtext":
      if (typeof value !== "string") invalid(table, column, "not a string");
      return cleanText(value);
    case "int": {
      const n = typeof value === "string" ? Number(value) : value;
      if (typeof n !== "number" || !Number.isFinite(n)) invalid(table, column, "not a finite number");
      const i = Math.round(n);
      if (i > 2147483647 || i < -2147483648) invalid(table, column, "out of integer range");
      return i;
    }
    case "bigint": {
      if (typeof value === "bigint") return value.toString();
      const n = typeof value === "string" ? Number(value) : value;
      if (typeof n !== "number" || !Number.isSafeInteger(Math.round(n)))
        invalid(table, column, "not a safe integer");
      return String(Math.round(n));
    }
    case "timestamptz": {
      const d =
        value instanceof Date
          ? new Date(value.getTime())
          : typeof value === "string"
            ? new Date(value)
            : null;
      if (d === null || Number.isNaN(d.getTime())) invalid(table, column, "not a valid date");
      return d;
    }
    case "bool":
      if (typeof value !== "boolean") invalid(table, column, "not a boolean");
      return value;
    case "jsonb":
      if (typeof value !== "object" || Array.isArray(value)) invalid(table, column, "not a JSON object");
      return cleanJson(value as JsonObject) as JsonObject;
    case "bytea":
      if (!(value instanceof Uint8Array)) invalid(table, column, "not bytes");
      return value;
    case "text[]":
      if (!Array.isArray(value) || value.some((v) => typeof v !== "string"))
        invalid(table, column, "not a string[]");
      return (value as string[]).map(cleanText);
  }
}

function cleanJson(v: JsonValue): JsonValue {
  if (typeof v === "string") return cleanText(v);
  if (Array.isArray(v)) return v.map(cleanJson);
  if (v !== null && typeof v === "object") {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[cleanText(k)] = cleanJson(x);
    return out;
  }
  return v;
}

/** Deterministic JSON: object keys sorted, no whitespace. */
export function sortedJson(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  if (Array.isArray(v)) return `[${v.map(sortedJson).join(",")}]`;
  const keys = Object.keys(v).sort();
  const parts: string[] = [];
  for (const k of keys) {
    const x = (v as Record<string, unknown>)[k];
    if (x !== undefined) parts.push(`${JSON.stringify(k)}:${sortedJson(x)}`);
  }
  return `{${parts.join(",")}}`;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** A body value whose sha256 the database computed (verify reads hashes, not megabytes of bodies). */
export class PreHashed {
  constructor(readonly hex: string) {}
}

function canonicalValue(type: ColumnType, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (v instanceof PreHashed) return `sha256:${v.hex}`;
  switch (type) {
    case "uuid":
      return String(v).toLowerCase();
    case "text":
      return String(v);
    case "bigtext":
      return `sha256:${sha256Hex(String(v))}`;
    case "int":
    case "bigint":
      return String(v);
    case "timestamptz":
      return (v instanceof Date ? v : new Date(String(v))).toISOString();
    case "bool":
      return v === true || v === "t" || v === "true";
    case "jsonb":
      return sortedJson(typeof v === "string" ? JSON.parse(v) : v);
    case "bytea":
      return `sha256:${sha256Hex(v as Uint8Array)}`;
    case "text[]":
      return (v as unknown[]).map(String);
  }
}

/**
 * The canonical text of a row (see the file comment). `knownHashes` (write side only) gives the sha256 of
 * large values already computed while building the row, instead of hashing them again.
 */
export function canonicalRow(
  spec: TableSpec,
  row: Readonly<Record<string, unknown>>,
  knownHashes?: Readonly<Record<string, string>>,
): string {
  const out: unknown[] = [spec.table];
  for (const [name, type] of spec.columns) {
    if (name === "prev_hash" || name === "hash") continue;
    const known = knownHashes?.[name];
    out.push(known !== undefined && row[name] != null ? `sha256:${known}` : canonicalValue(type, row[name]));
  }
  return JSON.stringify(out);
}

/** sha256(prev_hash ‖ canonical(row)), hex. */
export function rowHash(
  table: AuditTable,
  prevHash: string,
  row: Readonly<Record<string, unknown>>,
  knownHashes?: Readonly<Record<string, string>>,
): string {
  return createHash("sha256")
    .update(prevHash)
    .update(canonicalRow(TABLES[table], row, knownHashes))
    .digest("hex");
}

/** Normalises every column of a row for `table` (missing columns become NULL). */
export function normalizeRow(table: AuditTable, input: Readonly<Record<string, unknown>>): Row {
  const spec = TABLES[table];
  const row: Row = {};
  for (const [name, type] of spec.columns) {
    const v = normalizeValue(table, name, type, input[name]);
    if (v === null && !spec.nullable.has(name) && !CHAIN_COLUMNS.has(name))
      invalid(table, name, "is required");
    const allowed = spec.enums?.[name];
    if (allowed && v !== null && !allowed.includes(v as string))
      invalid(table, name, `must be one of ${allowed.join(", ")}`);
    row[name] = v;
  }
  return row;
}

const CHAIN_COLUMNS = new Set(["chain_id", "seq", "prev_hash", "hash"]);
