import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { isIP } from "node:net";
import type { CertificateAuthority } from "./authority.js";
import { buildCertificate, derToPem, encodeName, randomSerial } from "./x509.js";

/** One key pair for every leaf this process mints (generated at start; never written to disk). */
export interface LeafKey {
  readonly type: "ec" | "rsa";
  readonly privateKey: KeyObject;
  readonly privateKeyPem: string;
  readonly spkiDer: Buffer;
}

export function createLeafKey(type: "ec" | "rsa" = "ec"): LeafKey {
  const { privateKey, publicKey } =
    type === "ec"
      ? generateKeyPairSync("ec", { namedCurve: "P-256" })
      : generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    type,
    privateKey,
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    spkiDer: publicKey.export({ type: "spki", format: "der" }),
  };
}

export const LEAF_VALIDITY_DAYS = 30;
const BACKDATE_MS = 24 * 60 * 60 * 1000;

export interface MintedLeaf {
  /** Leaf followed by the CA chain, ready for `tls.createSecureContext`. */
  readonly certChainPem: string;
  readonly leafPem: string;
  readonly notAfter: Date;
}

/** Mints a leaf for exactly `host`: SAN = host, EKU serverAuth, AKI = the CA's key id. */
export function mintLeaf(ca: CertificateAuthority, key: LeafKey, host: string, now = new Date()): MintedLeaf {
  const ip = isIP(host) !== 0;
  const notAfter = new Date(Math.min(now.getTime() + LEAF_VALIDITY_DAYS * 86_400_000, ca.notAfter.getTime()));
  // A CN is limited to 64 characters; a long name goes in the SAN only (then marked critical, RFC 5280).
  const hasCn = host.length <= 64;
  const der = buildCertificate({
    serialHex: randomSerial(),
    signer: ca.signer,
    issuer: ca.subjectAsn1,
    subject: encodeName(hasCn ? [{ name: "commonName", value: host }] : []),
    notBefore: new Date(Math.max(now.getTime() - BACKDATE_MS, ca.notBefore.getTime())),
    notAfter,
    spkiDer: key.spkiDer,
    extensions: [
      { name: "basicConstraints", cA: false, critical: true },
      {
        name: "keyUsage",
        digitalSignature: true,
        keyEncipherment: key.type === "rsa",
        critical: true,
      },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [ip ? { type: 7, ip: host } : { type: 2, value: host }],
        critical: !hasCn,
      },
      { name: "authorityKeyIdentifier", keyIdentifier: ca.keyId.toString("binary") },
    ],
  });
  const leafPem = derToPem(der);
  return { leafPem, certChainPem: leafPem + ca.chainPem, notAfter };
}
