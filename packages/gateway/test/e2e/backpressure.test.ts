import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../helpers.js";

const MiB = 1024 * 1024;

describe("backpressure", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack();
  });
  afterAll(() => s.close());

  it("a client that stops reading stalls the upstream instead of filling the gateway's memory", async () => {
    const total = 128 * MiB;
    const res = await request(`https://api.githubcopilot.com/__testkit/bytes?n=${total}`, {
      dispatcher: s.agent(),
    });
    expect(res.statusCode).toBe(200);
    // Read nothing for a while: only socket buffers (a few MiB each on loopback) may fill up.
    await new Promise((r) => setTimeout(r, 1500));
    const writtenWhilePaused = s.upstream.bulkBytesWritten();
    expect(writtenWhilePaused).toBeLessThan(40 * MiB);
    let received = 0;
    for await (const chunk of res.body) received += (chunk as Buffer).length;
    expect(received).toBe(total);
    expect(s.upstream.bulkBytesWritten()).toBe(total);
  });
});
