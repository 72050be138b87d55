import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { createAuthenticator } from "../src/authenticator.js";
import { EMBEDDED_AUDIENCE, openEmbeddedIssuer } from "../src/embedded.js";
import { expectIdentityError } from "./helpers.js";

const dirs: string[] = [];
async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "identity-embedded-"));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const posix = process.platform !== "win32";

describe("openEmbeddedIssuer", () => {
  it("creates an ES256 key under <dataDir>/issuer with modes 0700/0600 and no public secrets", async () => {
    const dir = await dataDir();
    const issuer = await openEmbeddedIssuer(dir);
    expect(issuer.keyFile).toBe(join(dir, "issuer", "signing-key.json"));
    expect(issuer.issuer).toBe(`urn:copilot-audit:embedded:${issuer.kid}`);
    expect(issuer.audience).toBe(EMBEDDED_AUDIENCE);
    if (posix) {
      expect((await stat(join(dir, "issuer"))).mode & 0o777).toBe(0o700);
      expect((await stat(issuer.keyFile)).mode & 0o777).toBe(0o600);
    }
    const stored = JSON.parse(await readFile(issuer.keyFile, "utf8"));
    expect(stored).toMatchObject({ version: 1, alg: "ES256", privateJwk: { kty: "EC", crv: "P-256" } });
    const [published] = issuer.jwks().keys;
    expect(published).toMatchObject({ kty: "EC", crv: "P-256", kid: issuer.kid, alg: "ES256", use: "sig" });
    expect(published).not.toHaveProperty("d");
  });

  it("loads the same key (same issuer) on the next open", async () => {
    const dir = await dataDir();
    const first = await openEmbeddedIssuer(dir);
    const second = await openEmbeddedIssuer(dir);
    expect(second.issuer).toBe(first.issuer);
    expect(second.kid).toBe(first.kid);
    const token = await first.mintToken({ sub: "alice" });
    expect((await createAuthenticator({ embedded: second }).authenticate(`Bearer ${token}`)).subject).toBe(
      "alice",
    );
  });

  it("concurrent first creation ends with one key that every opener shares, and no temp files", async () => {
    const dir = await dataDir();
    const issuers = await Promise.all(Array.from({ length: 8 }, () => openEmbeddedIssuer(dir)));
    expect(new Set(issuers.map((i) => i.issuer)).size).toBe(1);
    expect(await readdir(join(dir, "issuer"))).toEqual(["signing-key.json"]);
    const token = await issuers[3]!.mintToken({ sub: "bob" });
    const auth = createAuthenticator({ embedded: issuers[6]! });
    expect((await auth.authenticate(`Bearer ${token}`)).subject).toBe("bob");
  });

  it("tightens a pre-existing issuer directory to 0700", async () => {
    if (!posix) return;
    const dir = await dataDir();
    await openEmbeddedIssuer(dir);
    await chmod(join(dir, "issuer"), 0o755);
    await openEmbeddedIssuer(dir);
    expect((await stat(join(dir, "issuer"))).mode & 0o777).toBe(0o700);
  });

  it("refuses a key file readable by others", async () => {
    if (!posix) return;
    const dir = await dataDir();
    const { keyFile } = await openEmbeddedIssuer(dir);
    await chmod(keyFile, 0o644);
    await expectIdentityError(
      () => openEmbeddedIssuer(dir),
      "config_invalid",
      "has mode 0644",
      `chmod 600 ${keyFile}`,
    );
  });

  it.each([
    ["not JSON", "{", "not JSON"],
    ["another format", '{"version":2}', "unknown format"],
    [
      "a public key only",
      '{"version":1,"alg":"ES256","privateJwk":{"kty":"EC","crv":"P-256","x":"a","y":"b"}}',
      "not a P-256 private key",
    ],
  ])("refuses a corrupt key file (%s)", async (_name, content, why) => {
    const dir = await dataDir();
    const { keyFile } = await openEmbeddedIssuer(dir);
    await writeFile(keyFile, content, { mode: 0o600 });
    await expectIdentityError(() => openEmbeddedIssuer(dir), "config_invalid", why, "move it away");
  });
});

describe("mintToken", () => {
  it("mints a token with the claims, a jti and the default 8 h lifetime", async () => {
    const issuer = await openEmbeddedIssuer(await dataDir());
    const now = new Date("2026-11-24T08:00:00Z");
    const token = await issuer.mintToken(
      { sub: "alice", email: "a@x.io", name: "Alice", groups: ["dev", "sec"] },
      { now },
    );
    expect(decodeProtectedHeader(token)).toEqual({ alg: "ES256", kid: issuer.kid, typ: "JWT" });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({
      iss: issuer.issuer,
      aud: "copilot-audit",
      sub: "alice",
      email: "a@x.io",
      name: "Alice",
      groups: ["dev", "sec"],
      iat: now.getTime() / 1000,
      exp: now.getTime() / 1000 + 8 * 3600,
    });
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("verifies with the embedded authenticator, groups and all; ttl is honoured", async () => {
    const issuer = await openEmbeddedIssuer(await dataDir());
    const auth = createAuthenticator({ embedded: issuer });
    const token = await issuer.mintToken({ sub: "alice", groups: ["dev"], ttlSeconds: 60 });
    const identity = await auth.authenticate(`Bearer ${token}`);
    expect(identity).toMatchObject({ issuer: issuer.issuer, subject: "alice", groups: ["dev"], email: null });
    await expectIdentityError(
      () => auth.authenticate(`Bearer ${token}`, new Date(Date.now() + 120_000)),
      "token_expired",
    );
  });

  it("omitted groups → groups unknown", async () => {
    const issuer = await openEmbeddedIssuer(await dataDir());
    const identity = await createAuthenticator({ embedded: issuer }).verify(
      await issuer.mintToken({ sub: "a" }),
    );
    expect(identity.groups).toBeNull();
  });

  it("another data dir's token is a wrong issuer", async () => {
    const mine = await openEmbeddedIssuer(await dataDir());
    const theirs = await openEmbeddedIssuer(await dataDir());
    const auth = createAuthenticator({ embedded: mine });
    await expectIdentityError(
      async () => auth.authenticate(`Bearer ${await theirs.mintToken({ sub: "eve" })}`),
      "wrong_issuer",
      theirs.issuer,
      mine.issuer,
    );
  });

  it("a token with the right issuer but a foreign kid is unknown_key", async () => {
    const mine = await openEmbeddedIssuer(await dataDir());
    const auth = createAuthenticator({ embedded: mine });
    const [h, p, s] = (await mine.mintToken({ sub: "a" })).split(".");
    const header = Buffer.from(JSON.stringify({ alg: "ES256", kid: "other", typ: "JWT" })).toString(
      "base64url",
    );
    expect(h).toBeDefined();
    await expectIdentityError(
      () => auth.authenticate(`Bearer ${header}.${p}.${s}`),
      "unknown_key",
      "no ES256 key with kid other in the embedded issuer key",
    );
  });

  it.each([
    [{ sub: "" }, "sub: a non-empty subject"],
    [{ sub: "a", ttlSeconds: 0 }, "ttlSeconds: must be a positive whole number"],
    [{ sub: "a", ttlSeconds: 1.5 }, "ttlSeconds"],
    [{ sub: "a", groups: [""] }, "groups: every group"],
  ])("refuses %j", async (claims, message) => {
    const issuer = await openEmbeddedIssuer(await dataDir());
    await expectIdentityError(() => issuer.mintToken(claims), "config_invalid", message);
  });
});
