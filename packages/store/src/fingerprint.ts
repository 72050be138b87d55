import { createHmac, randomBytes } from "node:crypto";
import { link, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigInvalidError } from "./errors.js";

// Keyed fingerprints: how a secret is stored so an auditor holding the secret can find it, and nobody
// holding the database can recover it. fingerprint(secret) = "hmac-sha256:" + hex(HMAC-SHA256(key, secret)).

export const FINGERPRINT_PREFIX = "hmac-sha256:";
const KEY_FILE = "fingerprint.key";

/** A function that fingerprints one secret with the deployment key. */
export type Fingerprinter = (secret: string) => string;

export function createFingerprinter(key: Uint8Array): Fingerprinter {
  const k = Buffer.from(key);
  return (secret: string) =>
    FINGERPRINT_PREFIX + createHmac("sha256", k).update(secret, "utf8").digest("hex");
}

/** Parses a configured key: 64 hex digits, or base64 of at least 32 bytes. */
export function parseFingerprintKey(value: string): Uint8Array {
  const v = value.trim();
  if (/^[0-9a-fA-F]{64,}$/.test(v) && v.length % 2 === 0) return Buffer.from(v, "hex");
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(v)) {
    const b = Buffer.from(v, v.includes("-") || v.includes("_") ? "base64url" : "base64");
    if (b.length >= 32) return b;
  }
  throw new ConfigInvalidError(
    "fingerprintKey: expected 64 hex digits or base64 of at least 32 bytes (e.g. `openssl rand -hex 32`)",
  );
}

/**
 * Loads `<dataDir>/fingerprint.key`, creating it (32 random bytes, hex, mode 0600) on first use. Race-safe:
 * the key is written to a private temp file and hard-linked into place, so concurrent first starts agree on
 * one key and nobody reads a half-written file.
 */
export async function loadOrCreateFingerprintKey(dataDir: string): Promise<Uint8Array> {
  const path = join(dataDir, KEY_FILE);
  const existing = await readKeyFile(path);
  if (existing) return existing;
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const tmp = join(dataDir, `.${KEY_FILE}.${process.pid}.${randomBytes(6).toString("hex")}`);
  await writeFile(tmp, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600, flag: "wx" });
  try {
    await link(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  } finally {
    await rm(tmp, { force: true });
  }
  const key = await readKeyFile(path);
  if (!key) throw new ConfigInvalidError(`${path}: not a fingerprint key (expected 64 hex digits)`);
  return key;
}

async function readKeyFile(path: string): Promise<Uint8Array | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  try {
    return parseFingerprintKey(text);
  } catch {
    throw new ConfigInvalidError(`${path}: not a fingerprint key (expected 64 hex digits)`);
  }
}
