import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { mkdir, open, readFile, rename, stat, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { type CertificateAuthority, type CreateCaOptions, createCa, loadCa } from "./authority.js";
import { CertificateError } from "./x509.js";

export const CA_CERT_FILE = "ca.pem";
export const CA_KEY_FILE = "ca.key";

export interface CaPaths {
  certPath: string;
  keyPath: string;
}

export function caPaths(dir: string): CaPaths {
  return { certPath: join(dir, CA_CERT_FILE), keyPath: join(dir, CA_KEY_FILE) };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes a file atomically (temp + fsync + rename) with the given mode. */
async function writeAtomic(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

/** `ca init`: creates ca.pem (0644) and ca.key (0600) in `dir`; refuses to replace an existing CA without `force`. */
export async function initCaFiles(
  dir: string,
  opts: CreateCaOptions & { force?: boolean },
): Promise<CaPaths> {
  const paths = caPaths(dir);
  if (!opts.force && ((await exists(paths.certPath)) || (await exists(paths.keyPath)))) {
    throw new CertificateError(
      "ca_exists",
      `a CA already exists in ${dir}; pass --force to replace it (every client must then trust the new ${CA_CERT_FILE})`,
    );
  }
  await mkdir(dir, { recursive: true });
  const { certPem, keyPem } = createCa(opts);
  await writeAtomic(paths.keyPath, keyPem, 0o600);
  await writeAtomic(paths.certPath, certPem, 0o644);
  return paths;
}

export interface LoadedCa {
  ca: CertificateAuthority;
  paths: CaPaths;
  /** Things an operator should fix (e.g. a world-readable key). */
  warnings: string[];
}

export async function readCaFiles(paths: CaPaths, passphrase?: string): Promise<LoadedCa> {
  const read = async (p: string, what: string) => {
    try {
      return await readFile(p, "utf8");
    } catch (e) {
      throw new CertificateError(
        "ca_missing",
        `cannot read the CA ${what} ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
  };
  const [certPem, keyPem] = await Promise.all([
    read(paths.certPath, "certificate"),
    read(paths.keyPath, "key"),
  ]);
  const ca = loadCa({ certPem, keyPem, ...(passphrase === undefined ? {} : { passphrase }) });
  const warnings: string[] = [];
  const mode = (await stat(paths.keyPath)).mode & 0o777;
  if (mode & 0o077)
    warnings.push(`${paths.keyPath} is readable by other users (mode ${mode.toString(8)}); chmod 600 it`);
  const daysLeft = (ca.notAfter.getTime() - Date.now()) / 86_400_000;
  if (daysLeft < 30)
    warnings.push(
      `the CA expires in ${Math.floor(daysLeft)} days (${ca.notAfter.toISOString()}): plan its rotation`,
    );
  return { ca, paths, warnings };
}

/** For `start` on defaults: load the CA in `dir`, creating it first if there is none. */
export async function ensureCaFiles(
  dir: string,
  create: CreateCaOptions,
): Promise<LoadedCa & { created: boolean }> {
  const paths = caPaths(dir);
  const haveCert = await exists(paths.certPath);
  const haveKey = await exists(paths.keyPath);
  if (haveCert !== haveKey) {
    throw new CertificateError(
      "ca_incomplete",
      `${haveCert ? paths.certPath : paths.keyPath} exists but ${haveCert ? paths.keyPath : paths.certPath} does not; restore it or run \`copilot-audit ca init --force --dir ${dirname(paths.certPath)}\``,
    );
  }
  let created = false;
  if (!haveCert) created = await createUnderLock(dir, paths, create);
  return { ...(await readCaFiles(paths)), created };
}

/**
 * Creates the CA unless another process does it first. A lock file (O_EXCL) makes exactly one creator;
 * the others wait for it to finish and then load its CA. A lock left by a crash is broken after 30 s.
 */
async function createUnderLock(dir: string, paths: CaPaths, create: CreateCaOptions): Promise<boolean> {
  await mkdir(dir, { recursive: true });
  const lock = join(dir, ".ca.lock");
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const fh = await open(lock, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      await fh.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      if (await exists(paths.certPath)) {
        // The creator renames the key first and the certificate last: the CA is complete once both are
        // there and the lock is gone.
        if (!(await exists(lock))) return false;
      }
      if (Date.now() > deadline) {
        await unlink(lock).catch(() => undefined);
        continue;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  try {
    if (await exists(paths.certPath)) return false;
    await initCaFiles(dir, create);
    return true;
  } finally {
    await unlink(lock).catch(() => undefined);
  }
}
