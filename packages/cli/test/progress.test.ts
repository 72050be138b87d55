import { describe, expect, it } from "vitest";
import { progress, ticking } from "../src/progress.js";

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  const stream = {
    isTTY,
    columns: 40,
    write: (s: string) => writes.push(s),
  } as unknown as NodeJS.WriteStream;
  return { stream, writes };
}

describe("progress", () => {
  it("rewrites one line on a terminal, cut to its width, and clears it when done", () => {
    const { stream, writes } = fakeStream(true);
    const bar = progress(stream);
    bar.update("verifying: 1,000 rows");
    bar.update("too soon: throttled");
    bar.done();
    expect(writes).toEqual(["\r\x1b[Kverifying: 1,000 rows", "\r\x1b[K"]);
    const long = progress(stream);
    long.update("x".repeat(100));
    expect(writes.at(-1)).toBe(`\r\x1b[K${"x".repeat(38)}…`);
  });

  it("writes nothing when stderr is not a terminal (piped output stays clean)", () => {
    const { stream, writes } = fakeStream(false);
    const bar = progress(stream);
    bar.update("verifying");
    bar.done();
    expect(writes).toEqual([]);
  });

  it("ticking shows the time elapsed only for work that takes longer than the threshold", async () => {
    const { stream, writes } = fakeStream(true);
    expect(await ticking("reading…", Promise.resolve(7), progress(stream), 1000)).toBe(7);
    expect(writes).toEqual([]);
    const slow = new Promise((r) => setTimeout(() => r("done"), 400));
    expect(await ticking("reading…", slow, progress(stream), 0)).toBe("done");
    expect(writes[0]).toBe("\r\x1b[Kreading… 0 s");
    expect(writes.at(-1)).toBe("\r\x1b[K");
  });
});
