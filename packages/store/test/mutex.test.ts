import { describe, expect, it } from "vitest";
import { Mutex } from "../src/mutex.js";

describe("Mutex", () => {
  it("grants the lock in FIFO order, one holder at a time", async () => {
    const m = new Mutex();
    const order: string[] = [];
    let holders = 0;
    await Promise.all(
      ["a", "b", "c", "d"].map((name, i) =>
        m.run(async () => {
          holders++;
          expect(holders).toBe(1);
          order.push(name);
          await new Promise((r) => setTimeout(r, 10 - i * 2));
          holders--;
        }),
      ),
    );
    expect(order).toEqual(["a", "b", "c", "d"]);
  });

  it("releases on error, and a release function is idempotent", async () => {
    const m = new Mutex();
    await expect(m.run(async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    const release = await m.acquire();
    release();
    release();
    expect(await m.run(async () => 42)).toBe(42);
  });
});
