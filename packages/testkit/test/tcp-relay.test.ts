import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTcpRelay, type TcpRelay } from "../src/tcp-relay.js";

let echo: net.Server;
let echoPort: number;

beforeAll(async () => {
  echo = net.createServer((s) => {
    s.on("error", () => {});
    s.pipe(s);
  });
  await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
  echoPort = (echo.address() as net.AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((r) => echo.close(() => r()));
});

/** Connects, sends `msg`, resolves with what came back within `ms`, or the error/close that happened. */
function exchange(
  port: number,
  msg: string,
  ms = 300,
): Promise<{ data: string; error: string | null; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    let data = "";
    let error: string | null = null;
    let closed = false;
    s.on("data", (d) => {
      data += d;
    });
    s.on("error", (e: NodeJS.ErrnoException) => {
      error = e.code ?? e.message;
    });
    s.on("close", () => {
      closed = true;
    });
    s.on("connect", () => s.write(msg));
    setTimeout(() => {
      s.destroy();
      resolve({ data, error, closed });
    }, ms);
  });
}

describe("startTcpRelay", () => {
  let relay: TcpRelay;
  beforeAll(async () => {
    relay = await startTcpRelay({ host: "127.0.0.1", port: echoPort });
  });
  afterAll(async () => {
    await relay.close();
  });

  it("relays bytes both ways", async () => {
    expect((await exchange(relay.port, "ping")).data).toBe("ping");
  });

  it("rewrites a URL to point at the relay", () => {
    expect(relay.urlFor("postgres://postgres@db.example:5432/test")).toBe(
      `postgres://postgres@127.0.0.1:${relay.port}/test`,
    );
  });

  it("cut() resets live connections and refuses new ones; restore() heals", async () => {
    const live = net.connect(relay.port, "127.0.0.1");
    const liveEnded = new Promise<string>((resolve) => {
      live.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
      live.on("close", () => resolve("closed"));
    });
    await new Promise((r) => live.on("connect", r));
    await new Promise((r) => setTimeout(r, 50));
    expect(relay.connections).toBe(1);
    relay.cut();
    expect(await liveEnded).toMatch(/ECONNRESET|closed/);
    const during = await exchange(relay.port, "ping");
    expect(during.data).toBe("");
    expect(during.closed).toBe(true);
    relay.restore();
    expect((await exchange(relay.port, "pong")).data).toBe("pong");
  });

  it("cut('blackhole') accepts but never answers, until restore()", async () => {
    relay.cut("blackhole");
    const during = await exchange(relay.port, "ping", 300);
    expect(during).toMatchObject({ data: "", error: null });
    relay.restore();
    expect((await exchange(relay.port, "again")).data).toBe("again");
  });
});
