import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, createSecureContext, TLSSocket } from "node:tls";
import { describe, expect, it } from "vitest";
import { createCa, loadCa } from "../src/ca/authority.js";
import { CertificateCache } from "../src/ca/cache.js";
import { ensureCaFiles, initCaFiles, readCaFiles } from "../src/ca/files.js";
import { createLeafKey, mintLeaf } from "../src/ca/leaf.js";

const hasOpenssl = spawnSync("openssl", ["version"]).status === 0;
const tmp = () => mkdtempSync(join(tmpdir(), "ca-test-"));

/** A real TLS handshake: server presents `chainPem`, the client trusts `caPem` and asks for `servername`. */
async function handshake(caPem: string, chainPem: string, keyPem: string, servername: string) {
  const context = createSecureContext({ cert: chainPem, key: keyPem });
  const server = createServer((raw) => {
    const s = new TLSSocket(raw, { isServer: true, secureContext: context });
    s.on("error", () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    return await new Promise<{ authorized: boolean; error: string | null }>((resolve) => {
      const c = connect(
        {
          port: (server.address() as AddressInfo).port,
          host: "127.0.0.1",
          servername,
          ca: caPem,
          rejectUnauthorized: false,
        },
        () => {
          resolve({
            authorized: c.authorized,
            error: c.authorizationError ? String(c.authorizationError) : null,
          });
          c.destroy();
        },
      );
      c.on("error", (e) => resolve({ authorized: false, error: e.message }));
    });
  } finally {
    server.close();
  }
}

describe.each(["ec", "rsa"] as const)("a %s CA", (keyType) => {
  const { certPem, keyPem } = createCa({ keyType, permit: ["githubcopilot.com", "api.github.com"] });
  const ca = loadCa({ certPem, keyPem });
  const leafKey = createLeafKey("ec");

  it("is a CA with name constraints that we can read back", () => {
    const x = new X509Certificate(certPem);
    expect(x.ca).toBe(true);
    expect(x.verify(x.publicKey)).toBe(true);
    expect(ca.permittedDns).toEqual(["githubcopilot.com", "api.github.com"]);
    expect(ca.signer.keyType).toBe(keyType);
  });

  it("mints leaves that chain to it, with exactly the host as SAN", async () => {
    const leaf = mintLeaf(ca, leafKey, "api.business.githubcopilot.com");
    const x = new X509Certificate(leaf.leafPem);
    expect(x.verify(new X509Certificate(certPem).publicKey)).toBe(true);
    expect(x.subjectAltName).toBe("DNS:api.business.githubcopilot.com");
    expect(x.checkHost("api.business.githubcopilot.com")).toBe("api.business.githubcopilot.com");
    expect(x.checkHost("evil.com")).toBeUndefined();
    expect(x.ca).toBe(false);
    expect(x.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
    expect(x.serialNumber).not.toBe(mintLeaf(ca, leafKey, "api.business.githubcopilot.com").leafPem);
    const r = await handshake(
      certPem,
      leaf.certChainPem,
      leafKey.privateKeyPem,
      "api.business.githubcopilot.com",
    );
    expect(r).toEqual({ authorized: true, error: null });
  });

  it("is useless outside its name constraints: a leaf for another site fails verification", async () => {
    const evil = mintLeaf(ca, leafKey, "www.bank.example");
    const r = await handshake(certPem, evil.certChainPem, leafKey.privateKeyPem, "www.bank.example");
    // Node reports OpenSSL's X509_V_ERR_PERMITTED_VIOLATION as "UNSPECIFIED"; openssl names it (below).
    expect(r.authorized).toBe(false);
    expect(r.error).not.toBeNull();
  });

  it.skipIf(!hasOpenssl)("passes openssl verify (and openssl enforces the constraints)", () => {
    const dir = tmp();
    writeFileSync(join(dir, "ca.pem"), certPem);
    writeFileSync(join(dir, "good.pem"), mintLeaf(ca, leafKey, "api.github.com").leafPem);
    writeFileSync(join(dir, "bad.pem"), mintLeaf(ca, leafKey, "github.com").leafPem);
    const good = spawnSync("openssl", ["verify", "-CAfile", join(dir, "ca.pem"), join(dir, "good.pem")], {
      encoding: "utf8",
    });
    expect(good.stdout).toMatch(/good.pem: OK/);
    const bad = spawnSync("openssl", ["verify", "-CAfile", join(dir, "ca.pem"), join(dir, "bad.pem")], {
      encoding: "utf8",
    });
    expect(bad.status).not.toBe(0);
    expect(`${bad.stdout}${bad.stderr}`).toMatch(/permitted subtree violation/);
  });
});

describe("loading CAs", () => {
  it("refuses a key that does not belong to the certificate, a non-CA, garbage and expired CAs", () => {
    const a = createCa({ keyType: "ec", permit: null });
    const b = createCa({ keyType: "ec", permit: null });
    expect(() => loadCa({ certPem: a.certPem, keyPem: b.keyPem })).toThrow(
      expect.objectContaining({ code: "ca_mismatch" }),
    );
    expect(() => loadCa({ certPem: "nope", keyPem: a.keyPem })).toThrow(
      expect.objectContaining({ code: "ca_cert_invalid" }),
    );
    expect(() => loadCa({ certPem: a.certPem, keyPem: "nope" })).toThrow(
      expect.objectContaining({ code: "ca_key_invalid" }),
    );
    const old = createCa({
      keyType: "ec",
      permit: null,
      now: new Date(Date.now() - 10 * 86_400_000),
      validityDays: 1,
    });
    expect(() => loadCa(old)).toThrow(expect.objectContaining({ code: "ca_expired" }));
    const key = createLeafKey("ec");
    const ca = loadCa(a);
    const leaf = mintLeaf(ca, key, "x.githubcopilot.com");
    expect(() => loadCa({ certPem: leaf.leafPem, keyPem: key.privateKeyPem })).toThrow(
      expect.objectContaining({ code: "ca_not_ca" }),
    );
  });

  it.skipIf(!hasOpenssl)(
    "loads an existing org CA made by openssl: RSA, and P-384 with an encrypted key",
    async () => {
      const dir = tmp();
      const run = (args: string[]) => {
        const r = spawnSync("openssl", args, { encoding: "utf8" });
        if (r.status !== 0) throw new Error(r.stderr);
      };
      const ext = [
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
      ];
      run([
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        join(dir, "rsa.key"),
        "-out",
        join(dir, "rsa.pem"),
        "-subj",
        "/O=Acme/CN=Acme Root",
        "-days",
        "30",
        ...ext,
      ]);
      run(["ecparam", "-name", "secp384r1", "-genkey", "-noout", "-out", join(dir, "ec.plain")]);
      run([
        "pkcs8",
        "-topk8",
        "-in",
        join(dir, "ec.plain"),
        "-out",
        join(dir, "ec.key"),
        "-passout",
        "pass:s3cret",
        "-v2",
        "aes-256-cbc",
      ]);
      run([
        "req",
        "-x509",
        "-new",
        "-key",
        join(dir, "ec.plain"),
        "-out",
        join(dir, "ec.pem"),
        "-subj",
        "/O=Acme/CN=Acme EC Root",
        "-days",
        "30",
        ...ext,
      ]);
      const key = createLeafKey("ec");
      for (const [name, pass] of [
        ["rsa", undefined],
        ["ec", "s3cret"],
      ] as const) {
        const { ca, warnings } = await readCaFiles(
          { certPath: join(dir, `${name}.pem`), keyPath: join(dir, `${name}.key`) },
          pass,
        );
        expect(ca.permittedDns).toBeNull();
        const leaf = mintLeaf(ca, key, "api.githubcopilot.com");
        const certPem = readFileSync(join(dir, `${name}.pem`), "utf8");
        expect(
          await handshake(certPem, leaf.certChainPem, key.privateKeyPem, "api.githubcopilot.com"),
        ).toEqual({ authorized: true, error: null });
        expect(warnings.join(" ")).toMatch(/expires in|readable/);
      }
      await expect(
        readCaFiles({ certPath: join(dir, "ec.pem"), keyPath: join(dir, "ec.key") }),
      ).rejects.toMatchObject({
        code: "ca_key_invalid",
        message: expect.stringMatching(/encrypted.*passphrase/),
      });
    },
  );
});

describe("CA files", () => {
  it("creates ca.key with mode 0600, refuses to overwrite, replaces with force", async () => {
    const dir = tmp();
    const paths = await initCaFiles(dir, { keyType: "ec", permit: ["githubcopilot.com"] });
    expect(statSync(paths.keyPath).mode & 0o777).toBe(0o600);
    expect(readFileSync(paths.certPath, "utf8")).toMatch(/BEGIN CERTIFICATE/);
    await expect(initCaFiles(dir, { keyType: "ec", permit: null })).rejects.toMatchObject({
      code: "ca_exists",
    });
    const before = readFileSync(paths.certPath, "utf8");
    await initCaFiles(dir, { keyType: "rsa", permit: null, force: true });
    expect(readFileSync(paths.certPath, "utf8")).not.toBe(before);
  });

  it("ensure creates once, even when several processes race, and then loads", async () => {
    const dir = tmp();
    const results = await Promise.all(
      [1, 2, 3, 4].map(() => ensureCaFiles(dir, { keyType: "ec", permit: ["x.com"] })),
    );
    expect(results.filter((r) => r.created).length).toBe(1);
    expect(new Set(results.map((r) => r.ca.certificate.fingerprint256)).size).toBe(1);
    const again = await ensureCaFiles(dir, { keyType: "ec", permit: ["x.com"] });
    expect(again.created).toBe(false);
  });
});

describe("CertificateCache", () => {
  const { certPem, keyPem } = createCa({ keyType: "ec", permit: null });
  const ca = loadCa({ certPem, keyPem });

  it("mints once per host under concurrent demand and serves hits from memory", async () => {
    const cache = new CertificateCache(ca, createLeafKey("ec"));
    const contexts = await Promise.all(Array.from({ length: 20 }, () => cache.get("api.githubcopilot.com")));
    expect(new Set(contexts).size).toBe(1);
    expect(cache.stats.mints).toBe(1);
    expect(cache.peek("api.githubcopilot.com")).toBe(contexts[0]);
    expect(cache.stats.hits).toBeGreaterThan(0);
  });

  it("evicts least recently used entries and re-mints stale ones", async () => {
    let now = Date.now();
    const cache = new CertificateCache(ca, createLeafKey("ec"), {
      maxEntries: 2,
      refreshAfterMs: 1000,
      now: () => now,
    });
    await cache.prewarm(["a.x.com", "b.x.com"]);
    cache.peek("a.x.com");
    await cache.get("c.x.com");
    expect(cache.peek("b.x.com")).toBeUndefined();
    expect(cache.peek("a.x.com")).toBeDefined();
    now += 2000;
    expect(cache.peek("a.x.com")).toBeUndefined();
    await cache.get("a.x.com");
    expect(cache.stats.mints).toBe(4);
  });
});
