import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FetchFailure, fetchJson } from "../src/fetch-json.js";

// A raw HTTP server for answers the fake issuer never gives (redirects, non-JSON, huge bodies).
let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === "/json") res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    else if (req.url === "/redirect") res.writeHead(302, { location: "/json" }).end();
    else if (req.url === "/html") res.writeHead(200, { "content-type": "text/html" }).end("<html>");
    else if (req.url === "/huge") res.writeHead(200).end(`"${"x".repeat(1024 * 1024 + 10)}"`);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const signal = new AbortController().signal;

async function failure(path: string): Promise<string> {
  const err = await fetchJson(`${base}${path}`, 2000, signal).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(FetchFailure);
  return (err as Error).message;
}

describe("fetchJson", () => {
  it("parses a JSON answer", async () => {
    expect(await fetchJson(`${base}/json`, 2000, signal)).toEqual({ ok: true });
  });
  it("refuses redirects", async () => {
    expect(await failure("/redirect")).toBe(`GET ${base}/redirect answered HTTP 302, expected 200`);
  });
  it("refuses a body that is not JSON", async () => {
    expect(await failure("/html")).toBe(`GET ${base}/html did not return JSON`);
  });
  it("refuses bodies over 1 MiB", async () => {
    expect(await failure("/huge")).toMatch(/bytes/);
  });
  it("stops when the caller aborts", async () => {
    const controller = new AbortController();
    controller.abort();
    const err = await fetchJson(`${base}/json`, 2000, controller.signal).catch((e: Error) => e);
    expect((err as Error).message).toContain("aborted");
  });
});
