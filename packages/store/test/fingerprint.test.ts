import { createHmac } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createFingerprinter, loadOrCreateFingerprintKey, parseFingerprintKey } from "../src/fingerprint.js";
import { openStore } from "../src/index.js";

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "copilot-audit-fp-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("fingerprint", () => {
  it("is hmac-sha256 of the secret with the key, prefixed", () => {
    const key = Buffer.alloc(32, 7);
    const fp = createFingerprinter(key);
    const expected = createHmac("sha256", key).update("ghp_secret").digest("hex");
    expect(fp("ghp_secret")).toBe(`hmac-sha256:${expected}`);
    expect(fp("ghp_secret")).toBe(fp("ghp_secret"));
    expect(createFingerprinter(Buffer.alloc(32, 8))("ghp_secret")).not.toBe(fp("ghp_secret"));
  });

  it("parses keys as 64 hex digits or base64 of at least 32 bytes, and refuses the rest", () => {
    const raw = Buffer.alloc(32, 0xab);
    expect(Buffer.from(parseFingerprintKey(raw.toString("hex")))).toEqual(raw);
    expect(Buffer.from(parseFingerprintKey(raw.toString("base64")))).toEqual(raw);
    expect(Buffer.from(parseFingerprintKey(raw.toString("base64url")))).toEqual(raw);
    for (const bad of ["", "abcd", Buffer.alloc(16).toString("base64"), "not a key at all!"]) {
      expect(() => parseFingerprintKey(bad)).toThrowError(
        expect.objectContaining({ code: "config_invalid" }),
      );
    }
  });

  it("creates <dataDir>/fingerprint.key once, mode 0600, and concurrent first uses agree", async () => {
    const dir = tmp();
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateFingerprintKey(dir)));
    const first = Buffer.from(keys[0] as Uint8Array).toString("hex");
    for (const k of keys) expect(Buffer.from(k).toString("hex")).toBe(first);
    const path = join(dir, "fingerprint.key");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, "utf8").trim()).toBe(first);
    expect(Buffer.from(await loadOrCreateFingerprintKey(dir)).toString("hex")).toBe(first);
  });

  it("refuses a corrupt key file instead of silently making a new key", async () => {
    const dir = tmp();
    await loadOrCreateFingerprintKey(dir);
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(dir, "fingerprint.key"), "garbage\n");
    await expect(loadOrCreateFingerprintKey(dir)).rejects.toMatchObject({ code: "config_invalid" });
  });

  it("openStore uses a configured key and then writes no key file", async () => {
    const dir = tmp();
    const key = Buffer.alloc(32, 1).toString("hex");
    const s = await openStore({
      dataDir: dir,
      databaseUrl: "postgres://127.0.0.1:1/none",
      migrate: false,
      fingerprintKey: key,
    });
    try {
      expect(s.fingerprint("x")).toBe(createFingerprinter(Buffer.alloc(32, 1))("x"));
      expect(() => statSync(join(dir, "fingerprint.key"))).toThrow();
    } finally {
      await s.close();
    }
  });

  it("openStore refuses a malformed configured key with config_invalid", async () => {
    await expect(
      openStore({
        dataDir: tmp(),
        databaseUrl: "postgres://127.0.0.1:1/none",
        migrate: false,
        fingerprintKey: "short",
      }),
    ).rejects.toMatchObject({ code: "config_invalid" });
  });
});
