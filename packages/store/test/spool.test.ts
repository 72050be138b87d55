import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { normalizeRow } from "../src/canonical.js";
import { Chain } from "../src/chain.js";
import {
  decodeRow,
  encodeRow,
  listSpoolFiles,
  parseSpoolFileName,
  readSpoolChunk,
  SpoolFile,
  spoolFileName,
} from "../src/spool.js";
import { uuid } from "./helpers.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "copilot-audit-spool-"));
  dirs.push(d);
  return d;
};

function rows(n: number, bodyBytes = 0) {
  const chain = new Chain(uuid());
  return Array.from({ length: n }, (_, i) =>
    chain.append({
      table: "session_ends",
      row: normalizeRow("session_ends", {
        session_id: uuid(),
        closed_at: new Date(1_700_000_000_000 + i),
        bytes_from_client: i,
        bytes_to_client: bodyBytes,
        close_reason: bodyBytes ? "x".repeat(bodyBytes) : "client_closed",
        exchange_count: i,
      }),
    }),
  );
}

describe("spool", () => {
  it("file names carry host, pid and chain id", () => {
    const chainId = uuid();
    expect(parseSpoolFileName(spoolFileName("gw-1.example", 42, chainId))).toEqual({
      host: "gw-1.example",
      pid: 42,
      chainId,
    });
    expect(parseSpoolFileName("other.txt")).toBeNull();
  });

  it("rows survive encode/decode exactly", () => {
    for (const r of rows(3)) expect(decodeRow(encodeRow(r))).toEqual(r);
  });

  it("appends with fsync and reads back in order, in chunks", async () => {
    const dir = tmp();
    const f = new SpoolFile(join(dir, "nested"), "a.spool");
    const all = rows(25);
    await f.append(all.slice(0, 10));
    await f.append(all.slice(10));
    const got = [];
    let offset = 0;
    for (;;) {
      const c = await readSpoolChunk(f.path, offset, 7);
      got.push(...c.rows);
      offset = c.nextOffset;
      if (c.eof) break;
    }
    expect(got).toEqual(all);
    await f.clear();
    expect(readFileSync(f.path, "utf8")).toBe("");
    await f.close();
    expect(await listSpoolFiles(join(dir, "nested"))).toEqual([]);
  });

  it("ignores a torn last line (a crash mid-append) and reads lines longer than the read block", async () => {
    const dir = tmp();
    const path = join(dir, "t.spool");
    const big = rows(2, 1_500_000);
    writeFileSync(path, `${big.map(encodeRow).join("\n")}\n`);
    appendFileSync(path, encodeRow(rows(1)[0] as never).slice(0, 40));
    const c = await readSpoolChunk(path, 0, 100);
    expect(c.rows).toEqual(big);
    expect(c.eof).toBe(true);
    expect(c.nextOffset).toBe(Buffer.byteLength(`${big.map(encodeRow).join("\n")}\n`));
  });

  it("skips and counts an undecodable line instead of stopping", async () => {
    const dir = tmp();
    const path = join(dir, "c.spool");
    const r = rows(2);
    writeFileSync(path, `${encodeRow(r[0] as never)}\n{"v":9}\n${encodeRow(r[1] as never)}\n`);
    const c = await readSpoolChunk(path, 0, 10);
    expect(c.rows).toEqual(r);
    expect(c.corrupt).toBe(1);
  });

  it("a missing file reads as empty", async () => {
    expect(await readSpoolChunk(join(tmp(), "none.spool"), 0, 10)).toEqual({
      rows: [],
      nextOffset: 0,
      eof: true,
      corrupt: 0,
    });
  });

  it("an unwritable spool directory makes append throw", async () => {
    const dir = tmp();
    writeFileSync(join(dir, "file"), "x");
    const f = new SpoolFile(join(dir, "file", "spool"), "a.spool");
    await expect(f.append(rows(1))).rejects.toMatchObject({ code: expect.stringMatching(/ENOTDIR|EEXIST/) });
  });
});
