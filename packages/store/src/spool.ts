import { type FileHandle, mkdir, open, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { ChainedRow } from "./chain.js";
import { type ColumnType, type Row, type RowValue, TABLES } from "./columns.js";
import type { AuditTable } from "./schema.js";

// The local spool: where chained rows go while the database is unreachable. One append-only file per writer
// instance, `<spoolDir>/<host>__<pid>__<chainId>.spool`, one JSON line per row ({"v":1,"t":table,"r":[values
// in TABLES column order]}), fsynced per group commit. A torn last line (crash mid-append) was never
// acknowledged and is ignored on read.

const SUFFIX = ".spool";

export function spoolFileName(host: string, pid: number, chainId: string): string {
  return `${host.replaceAll("__", "_")}__${pid}__${chainId}${SUFFIX}`;
}

export function parseSpoolFileName(name: string): { host: string; pid: number; chainId: string } | null {
  if (!name.endsWith(SUFFIX)) return null;
  const parts = name.slice(0, -SUFFIX.length).split("__");
  if (parts.length < 3) return null;
  const chainId = parts.pop() as string;
  const pid = Number(parts.pop());
  if (!Number.isInteger(pid)) return null;
  return { host: parts.join("__"), pid, chainId };
}

function encodeValue(type: ColumnType, v: RowValue): unknown {
  if (v === null) return null;
  if (type === "timestamptz") return (v as Date).toISOString();
  if (type === "bytea") return Buffer.from(v as Uint8Array).toString("base64");
  return v;
}

function decodeValue(type: ColumnType, v: unknown): RowValue {
  if (v === null || v === undefined) return null;
  if (type === "timestamptz") return new Date(v as string);
  if (type === "bytea") return Buffer.from(v as string, "base64");
  return v as RowValue;
}

export function encodeRow(r: ChainedRow): string {
  const cols = TABLES[r.table].columns;
  return JSON.stringify({
    v: 1,
    t: r.table,
    r: cols.map(([name, type]) => encodeValue(type, r.row[name] ?? null)),
  });
}

export function decodeRow(line: string): ChainedRow {
  const o = JSON.parse(line) as { v: number; t: AuditTable; r: unknown[] };
  const spec = TABLES[o.t];
  if (o.v !== 1 || !spec || !Array.isArray(o.r) || o.r.length !== spec.columns.length) {
    throw new Error("not a spool line of format 1");
  }
  const row: Row = {};
  spec.columns.forEach(([name, type], i) => {
    row[name] = decodeValue(type, o.r[i]);
  });
  return { table: o.t, row };
}

/** The append side of one spool file. */
export class SpoolFile {
  readonly path: string;
  #fh: FileHandle | null = null;
  #size = 0;

  constructor(dir: string, name: string) {
    this.path = join(dir, name);
  }

  /** Appends rows and fsyncs; throws if the file cannot be written (the caller reports store_unavailable). */
  async append(rows: readonly ChainedRow[]): Promise<void> {
    if (!this.#fh) {
      await mkdir(join(this.path, ".."), { recursive: true, mode: 0o700 });
      const fh = await open(this.path, "a", 0o600);
      this.#size = (await fh.stat()).size;
      this.#fh = fh;
    }
    const data = Buffer.from(`${rows.map(encodeRow).join("\n")}\n`, "utf8");
    try {
      await this.#fh.write(data);
      await this.#fh.datasync();
      this.#size += data.byteLength;
    } catch (err) {
      // Cut a partial append off, so the next acknowledged line does not glue onto it.
      await this.#fh.truncate(this.#size).catch(() => {});
      throw err;
    }
  }

  /** Empties the file after a complete replay. */
  async clear(): Promise<void> {
    if (this.#fh) {
      await this.#fh.truncate(0);
      await this.#fh.datasync();
      this.#size = 0;
    }
  }

  /** Closes the file; removes it when it is empty. */
  async close(): Promise<void> {
    const fh = this.#fh;
    this.#fh = null;
    if (!fh) return;
    const st = await fh.stat();
    await fh.close();
    if (st.size === 0) await rm(this.path, { force: true });
  }
}

export interface SpoolChunk {
  rows: ChainedRow[];
  /** Byte offset after the last complete line read. */
  nextOffset: number;
  /** True when no complete line follows nextOffset. */
  eof: boolean;
  /** Lines that could not be decoded (skipped). */
  corrupt: number;
}

/** Reads up to `maxRows` complete lines from `offset`. A missing file reads as empty. */
export async function readSpoolChunk(path: string, offset: number, maxRows: number): Promise<SpoolChunk> {
  let fh: FileHandle;
  try {
    fh = await open(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT")
      return { rows: [], nextOffset: offset, eof: true, corrupt: 0 };
    throw err;
  }
  try {
    const rows: ChainedRow[] = [];
    let corrupt = 0;
    let pos = offset;
    let carry = Buffer.alloc(0);
    const block = Buffer.alloc(1 << 20);
    for (;;) {
      const { bytesRead } = await fh.read(block, 0, block.length, pos + carry.length);
      if (bytesRead === 0) return { rows, nextOffset: pos, eof: true, corrupt };
      let buf = Buffer.concat([carry, block.subarray(0, bytesRead)]);
      let nl = buf.indexOf(10);
      while (nl !== -1) {
        const line = buf.subarray(0, nl).toString("utf8");
        pos += nl + 1;
        buf = buf.subarray(nl + 1);
        if (line.length > 0) {
          try {
            rows.push(decodeRow(line));
          } catch {
            corrupt++;
          }
        }
        if (rows.length >= maxRows) return { rows, nextOffset: pos, eof: false, corrupt };
        nl = buf.indexOf(10);
      }
      carry = Buffer.from(buf);
    }
  } finally {
    await fh.close();
  }
}

/** Spool files in `dir` (full paths), with the writer that made them. */
export async function listSpoolFiles(
  dir: string,
): Promise<Array<{ path: string; host: string; pid: number; chainId: string }>> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const out: Array<{ path: string; host: string; pid: number; chainId: string }> = [];
  for (const name of names.sort()) {
    const p = parseSpoolFileName(name);
    if (p) out.push({ path: join(dir, name), ...p });
  }
  return out;
}
