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
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
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
export async function initCaFiles(dir: string, opts: CreateCaOptions & { force?: boolean }): Promise<CaPaths> {
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
      throw new CertificateError("ca_missing", `cannot read the CA ${what} ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  const [certPem, keyPem] = await Promise.all([read(paths.certPath, "certificate"), read(paths.keyPath, "key")]);
  const ca = loadCa({ certPem, keyPem, ...(passphrase === undefined ? {} : { passphrase }) });
  const warnings: string[] = [];
  const mode = (await stat(paths.keyPath)).mode & 0o777;
  if (mode & 0o077) warnings.push(`${paths.keyPath} is readable by other users (mode ${mode.toString(8)}); chmod 600 it`);
  const daysLeft = (ca.notAfter.getTime() - Date.now()) / 86_400_000;
  if (daysLeft < 30) warnings.push(`the CA expires in ${Math.floor(daysLeft)} days (${ca.notAfter.toISOString()}): plan its rotation`);
  return { ca, paths, warnings };
}

/** For `start` on defaults: load the CA in `dir`, creating it first if there is none. */
export async function ensureCaFiles(dir: string, create: CreateCaOptions): Promise<LoadedCa & { created: boolean }> {
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
  if (!haveCert) {
    try {
      await initCaFiles(dir, create);
      created = true;
    } catch (e) {
      // Another process created it first: load theirs.
      if (!(e instanceof CertificateError && e.code === "ca_exists")) throw e;
    }
  }
  return { ...(await readCaFiles(paths)), created };
}
