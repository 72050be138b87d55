import { generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import { chmod, link, mkdir, open, readFile, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { calculateJwkThumbprint, importJWK, type JSONWebKeySet, type JWK, SignJWT } from "jose";
import { IdentityError } from "./errors.js";

/** Audience of tokens minted by the embedded issuer. */
export const EMBEDDED_AUDIENCE = "copilot-audit";
export const EMBEDDED_ALGORITHM = "ES256";
/** Default lifetime of a minted token: 8 hours. */
export const DEFAULT_TOKEN_TTL_SECONDS = 8 * 3600;

export interface MintClaims {
  sub: string;
  email?: string;
  groups?: string[];
  name?: string;
  /** Lifetime in seconds. Default 8 hours. */
  ttlSeconds?: number;
}

/** The zero-setup issuer: an ES256 key under `<dataDir>/issuer/` that mints tokens the gateway trusts. */
export interface EmbeddedIssuer {
  /** `urn:copilot-audit:embedded:<key thumbprint>`, stable per data dir. */
  readonly issuer: string;
  /** Always {@link EMBEDDED_AUDIENCE}. */
  readonly audience: string;
  readonly kid: string;
  /** Path of the private key file (mode 0600). */
  readonly keyFile: string;
  /** The public key set used to verify minted tokens. */
  jwks(): JSONWebKeySet;
  mintToken(claims: MintClaims, opts?: { now?: Date }): Promise<string>;
}

interface KeyFile {
  version: 1;
  alg: typeof EMBEDDED_ALGORITHM;
  createdAt: string;
  privateJwk: JWK;
}

const KEY_FILE = "signing-key.json";

function isErrno(err: unknown, ...codes: string[]): boolean {
  return err instanceof Error && codes.includes((err as NodeJS.ErrnoException).code ?? "");
}

function corrupt(file: string, why: string): IdentityError {
  return new IdentityError(
    "config_invalid",
    `embedded issuer key ${file} is unusable (${why}); move it away to create a new key (tokens minted with the old key stop working)`,
  );
}

async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (process.platform === "win32") return;
  const info = await stat(dir);
  if ((info.mode & 0o077) !== 0) {
    try {
      await chmod(dir, 0o700);
    } catch (err) {
      throw new IdentityError(
        "config_invalid",
        `cannot restrict ${dir} to mode 0700: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }
}

async function createKeyFile(dir: string, file: string): Promise<void> {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const content: KeyFile = {
    version: 1,
    alg: EMBEDDED_ALGORITHM,
    createdAt: new Date().toISOString(),
    privateJwk: privateKey.export({ format: "jwk" }) as JWK,
  };
  const tmp = join(dir, `.${KEY_FILE}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  const handle = await open(tmp, "wx", 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(content, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    // link() never replaces an existing file: the first process to link wins, the others load its key.
    await link(tmp, file);
  } catch (err) {
    if (!isErrno(err, "EEXIST")) throw err;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

async function readKeyFile(file: string): Promise<KeyFile> {
  if (process.platform !== "win32") {
    const mode = (await stat(file)).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new IdentityError(
        "config_invalid",
        `embedded issuer key ${file} has mode 0${mode.toString(8)}, readable by other users; ` +
          `it must be 0600 (run: chmod 600 ${file}, and consider replacing the key)`,
      );
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, "utf8"));
  } catch {
    throw corrupt(file, "not JSON");
  }
  const key = parsed as Partial<KeyFile> | null;
  const jwk = key?.privateJwk;
  if (key?.version !== 1 || key.alg !== EMBEDDED_ALGORITHM || typeof jwk !== "object" || jwk === null) {
    throw corrupt(file, "unknown format");
  }
  if (jwk.kty !== "EC" || jwk.crv !== "P-256" || !jwk.d || !jwk.x || !jwk.y) {
    throw corrupt(file, "not a P-256 private key");
  }
  return key as KeyFile;
}

async function loadOrCreate(dir: string, file: string): Promise<KeyFile> {
  try {
    return await readKeyFile(file);
  } catch (err) {
    if (!isErrno(err, "ENOENT")) throw err;
  }
  await createKeyFile(dir, file);
  return readKeyFile(file);
}

function checkMintClaims(claims: MintClaims): number {
  if (typeof claims.sub !== "string" || claims.sub.trim() === "") {
    throw new IdentityError("config_invalid", "sub: a non-empty subject is required to mint a token");
  }
  if (claims.groups !== undefined && !claims.groups.every((g) => typeof g === "string" && g !== "")) {
    throw new IdentityError("config_invalid", "groups: every group must be a non-empty string");
  }
  const ttl = claims.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
  if (!Number.isSafeInteger(ttl) || ttl <= 0) {
    throw new IdentityError(
      "config_invalid",
      `ttlSeconds: must be a positive whole number, got ${String(ttl)}`,
    );
  }
  return ttl;
}

/**
 * Creates (first time) or loads the embedded issuer's ES256 key under `<dataDir>/issuer/`
 * (directory 0700, key file 0600). Safe when several processes race on first creation: each writes a
 * temp file and hard-links it into place, the first link wins and everyone loads that key.
 */
export async function openEmbeddedIssuer(dataDir: string): Promise<EmbeddedIssuer> {
  const dir = join(dataDir, "issuer");
  const file = join(dir, KEY_FILE);
  await ensureDir(dir);
  const stored = await loadOrCreate(dir, file);
  const { d: _d, ...publicJwk } = stored.privateJwk;
  const kid = await calculateJwkThumbprint(publicJwk);
  const issuer = `urn:copilot-audit:embedded:${kid}`;
  const signingKey = await importJWK(stored.privateJwk, EMBEDDED_ALGORITHM);
  const published: JWK = { ...publicJwk, kid, alg: EMBEDDED_ALGORITHM, use: "sig" };
  return {
    issuer,
    audience: EMBEDDED_AUDIENCE,
    kid,
    keyFile: file,
    jwks: () => ({ keys: [{ ...published }] }),
    async mintToken(claims, opts = {}) {
      const ttl = checkMintClaims(claims);
      const iat = Math.floor((opts.now ?? new Date()).getTime() / 1000);
      const extra: Record<string, unknown> = {};
      if (claims.email !== undefined) extra.email = claims.email;
      if (claims.name !== undefined) extra.name = claims.name;
      if (claims.groups !== undefined) extra.groups = [...claims.groups];
      return new SignJWT(extra)
        .setProtectedHeader({ alg: EMBEDDED_ALGORITHM, kid, typ: "JWT" })
        .setIssuer(issuer)
        .setAudience(EMBEDDED_AUDIENCE)
        .setSubject(claims.sub)
        .setIssuedAt(iat)
        .setExpirationTime(iat + ttl)
        .setJti(randomUUID())
        .sign(signingKey);
    },
  };
}
