/**
 * A throwaway CA for the fake upstream ("the internet" in tests), independent of the gateway's own CA
 * code so that tests do not check the gateway with itself. RSA keys from node:crypto, certificates
 * built and signed by node-forge. Memoised per process: minting is ~50 ms.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import forge from "node-forge";

export interface TestCa {
  certPem: string;
  keyPem: string;
  /** Issues a server certificate for the given DNS names / IPs. */
  issue(names: string[]): { certPem: string; keyPem: string };
}

let memo: TestCa | null = null;

function rsaKeys(): { pub: forge.pki.rsa.PublicKey; priv: forge.pki.rsa.PrivateKey; pem: string } {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pem = privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  const priv = forge.pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey;
  const pub = forge.pki.rsa.setPublicKey(priv.n, priv.e);
  return { pub, priv, pem };
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = ((b[0] as number) & 0x7f) | 0x40;
  return b.toString("hex");
}

export function testCa(): TestCa {
  if (memo) return memo;
  const caKeys = rsaKeys();
  const ca = forge.pki.createCertificate();
  ca.publicKey = caKeys.pub;
  ca.serialNumber = serial();
  ca.validity.notBefore = new Date(Date.now() - 86_400_000);
  ca.validity.notAfter = new Date(Date.now() + 30 * 86_400_000);
  const attrs = [
    { name: "commonName", value: "copilot-audit testkit upstream CA" },
    { name: "organizationName", value: "testkit" },
  ];
  ca.setSubject(attrs);
  ca.setIssuer(attrs);
  ca.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  ca.sign(caKeys.priv, forge.md.sha256.create());
  const certPem = forge.pki.certificateToPem(ca);
  memo = {
    certPem,
    keyPem: caKeys.pem,
    issue(names: string[]) {
      const keys = rsaKeys();
      const cert = forge.pki.createCertificate();
      cert.publicKey = keys.pub;
      cert.serialNumber = serial();
      cert.validity.notBefore = new Date(Date.now() - 86_400_000);
      cert.validity.notAfter = new Date(Date.now() + 30 * 86_400_000);
      cert.setSubject([{ name: "commonName", value: names[0] ?? "localhost" }]);
      cert.setIssuer(ca.subject.attributes);
      cert.setExtensions([
        { name: "basicConstraints", cA: false },
        { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
        { name: "extKeyUsage", serverAuth: true },
        {
          name: "subjectAltName",
          altNames: names.map((n) => (/^[\d.]+$|:/.test(n) ? { type: 7, ip: n } : { type: 2, value: n })),
        },
      ]);
      cert.sign(caKeys.priv, forge.md.sha256.create());
      return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.pem };
    },
  };
  return memo;
}
