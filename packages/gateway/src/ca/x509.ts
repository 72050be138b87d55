/**
 * X.509 building blocks. node-forge builds the ASN.1 (TBSCertificate, names, extensions); node:crypto
 * signs. forge alone cannot: its `cert.sign` is pure-JS RSA only (~40 ms per leaf) and it cannot encode
 * EC keys, so the SubjectPublicKeyInfo is spliced in from node:crypto's DER export.
 */
import { createHash, type KeyObject, randomBytes, sign } from "node:crypto";
import forge from "node-forge";

const { asn1, pki } = forge;
type Asn1 = forge.asn1.Asn1;

/** Parts of node-forge's API that exist at run time but are missing from @types/node-forge. */
const forgeExtra = forge as unknown as {
  pki: { certificateExtensionsToAsn1(exts: unknown[]): Asn1 };
  asn1: { fromDer(bytes: string, options: { strict: boolean; decodeBitStrings: boolean }): Asn1 };
};

export const OID = {
  sha256WithRSAEncryption: "1.2.840.113549.1.1.11",
  ecdsaWithSHA256: "1.2.840.10045.4.3.2",
  ecdsaWithSHA384: "1.2.840.10045.4.3.3",
  subjectKeyIdentifier: "2.5.29.14",
  nameConstraints: "2.5.29.30",
  basicConstraints: "2.5.29.19",
} as const;

export class CertificateError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "CertificateError";
    this.code = code;
  }
}

/** How a CA key signs: the AlgorithmIdentifier to write and the digest to use. */
export interface Signer {
  readonly key: KeyObject;
  readonly algorithmOid: string;
  readonly digest: "sha256" | "sha384";
  readonly keyType: "rsa" | "ec";
}

export function signerFor(key: KeyObject): Signer {
  if (key.type !== "private") throw new CertificateError("ca_key_invalid", "the CA key is not a private key");
  const type = key.asymmetricKeyType;
  if (type === "rsa")
    return { key, algorithmOid: OID.sha256WithRSAEncryption, digest: "sha256", keyType: "rsa" };
  if (type === "ec") {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === "prime256v1")
      return { key, algorithmOid: OID.ecdsaWithSHA256, digest: "sha256", keyType: "ec" };
    if (curve === "secp384r1")
      return { key, algorithmOid: OID.ecdsaWithSHA384, digest: "sha384", keyType: "ec" };
    throw new CertificateError(
      "ca_key_unsupported",
      `EC curve ${curve ?? "?"} is not supported (use P-256 or P-384)`,
    );
  }
  throw new CertificateError(
    "ca_key_unsupported",
    `CA key type ${type ?? "?"} is not supported (use RSA or EC)`,
  );
}

function bin(buf: Uint8Array): string {
  return Buffer.from(buf).toString("binary");
}

function algorithmIdentifier(oid: string): Asn1 {
  const parts: Asn1[] = [
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(oid).getBytes()),
  ];
  // RSA signature algorithms carry an explicit NULL; ECDSA ones carry no parameters (RFC 5758 §3.2).
  if (oid === OID.sha256WithRSAEncryption)
    parts.push(asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, ""));
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, parts);
}

function time(date: Date): Asn1 {
  // RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
  return date.getUTCFullYear() < 2050
    ? asn1.create(asn1.Class.UNIVERSAL, asn1.Type.UTCTIME, false, asn1.dateToUtcTime(date))
    : asn1.create(asn1.Class.UNIVERSAL, asn1.Type.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(date));
}

export function octetString(bytes: Uint8Array): Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, bin(bytes));
}

/** A positive, minimally encoded 128-bit serial number (hex). */
export function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = ((b[0] as number) & 0x7f) | 0x40;
  return b.toString("hex");
}

export type NameAttribute = {
  name: "commonName" | "organizationName" | "organizationalUnitName";
  value: string;
};

/** Encodes a distinguished name through forge (it fills OIDs and string types). */
export function encodeName(attrs: NameAttribute[]): Asn1 {
  const scratch = pki.createCertificate();
  scratch.setSubject(attrs);
  return pki.distinguishedNameToAsn1(scratch.subject);
}

export type Extension = { id?: string; name?: string; critical?: boolean; value?: string | Asn1 } & Record<
  string,
  unknown
>;

/** Lets forge fill the DER value of standard extensions (basicConstraints, keyUsage, SAN…). */
function encodeExtensions(exts: Extension[]): Asn1 {
  const scratch = pki.createCertificate();
  scratch.setExtensions(exts);
  return forgeExtra.pki.certificateExtensionsToAsn1(scratch.extensions);
}

export interface TbsInput {
  serialHex: string;
  signer: Signer;
  issuer: Asn1;
  subject: Asn1;
  notBefore: Date;
  notAfter: Date;
  /** SubjectPublicKeyInfo DER, from `publicKey.export({ type: "spki", format: "der" })`. */
  spkiDer: Uint8Array;
  extensions: Extension[];
}

/** Builds, signs and returns the DER of a certificate. */
export function buildCertificate(input: TbsInput): Buffer {
  const tbs = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, asn1.integerToDer(2).getBytes()),
    ]),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, forge.util.hexToBytes(input.serialHex)),
    algorithmIdentifier(input.signer.algorithmOid),
    input.issuer,
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
      time(input.notBefore),
      time(input.notAfter),
    ]),
    input.subject,
    fromDer(input.spkiDer),
    encodeExtensions(input.extensions), // forge wraps the list in the [3] EXPLICIT tag
  ]);
  const tbsDer = Buffer.from(asn1.toDer(tbs).getBytes(), "binary");
  const signature = sign(input.signer.digest, tbsDer, input.signer.key);
  const algId = Buffer.from(asn1.toDer(algorithmIdentifier(input.signer.algorithmOid)).getBytes(), "binary");
  // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, BIT STRING signature }. Assembled from
  // DER bytes so the signed TBS is embedded exactly as signed.
  return derTlv(0x30, Buffer.concat([tbsDer, algId, derTlv(0x03, Buffer.concat([Buffer.of(0), signature]))]));
}

function derTlv(tag: number, body: Buffer): Buffer {
  const n = body.length;
  let len: Buffer;
  if (n < 0x80) len = Buffer.of(n);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
    len = Buffer.of(0x80 | bytes.length, ...bytes);
  }
  return Buffer.concat([Buffer.of(tag), len, body]);
}

/** Parses DER without forge's habit of decoding BIT STRING contents (which breaks re-encoding keys). */
function fromDer(der: Uint8Array): Asn1 {
  return forgeExtra.asn1.fromDer(bin(der), { strict: true, decodeBitStrings: false });
}

export function derToPem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString("base64");
  return `-----BEGIN CERTIFICATE-----\n${b64.replace(/(.{64})/g, "$1\n").replace(/\n$/, "")}\n-----END CERTIFICATE-----\n`;
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING contents. */
export function keyIdentifier(spkiDer: Uint8Array): Buffer {
  const spki = fromDer(spkiDer);
  const bits = (spki.value as Asn1[])[1];
  const raw = Buffer.from(bits?.value as string, "binary").subarray(1);
  return createHash("sha1").update(raw).digest();
}

/** The nameConstraints value: permitted dNSName subtrees; all IPv4 and IPv6 addresses excluded. */
export function nameConstraintsValue(permittedDns: string[]): Asn1 {
  const subtree = (name: Asn1) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [name]);
  const permitted = permittedDns.map((d) => subtree(asn1.create(asn1.Class.CONTEXT_SPECIFIC, 2, false, d)));
  const excluded = [Buffer.alloc(8), Buffer.alloc(32)].map((ipAndMask) =>
    subtree(asn1.create(asn1.Class.CONTEXT_SPECIFIC, 7, false, bin(ipAndMask))),
  );
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, permitted),
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 1, true, excluded),
  ]);
}

/** Parts of an existing certificate that forge cannot read for EC keys but asn1 can. */
export interface CertificateParts {
  subject: Asn1;
  subjectKeyIdentifier: Buffer | null;
  /** Permitted dNSName subtrees; null when the certificate has no nameConstraints extension. */
  permittedDns: string[] | null;
}

export function readCertificateParts(der: Uint8Array): CertificateParts {
  const cert = fromDer(der);
  const tbs = (cert.value as Asn1[])[0] as Asn1;
  const fields = tbs.value as Asn1[];
  const offset = fields[0]?.tagClass === asn1.Class.CONTEXT_SPECIFIC ? 1 : 0;
  const subject = fields[offset + 4] as Asn1;
  let ski: Buffer | null = null;
  let permittedDns: string[] | null = null;
  const extWrapper = fields.find((f) => f.tagClass === asn1.Class.CONTEXT_SPECIFIC && f.type === 3);
  const exts = ((extWrapper?.value as Asn1[] | undefined)?.[0]?.value as Asn1[] | undefined) ?? [];
  for (const ext of exts) {
    const parts = ext.value as Asn1[];
    const oid = asn1.derToOid(parts[0]?.value as string);
    const valueDer = (parts[parts.length - 1] as Asn1).value as string;
    if (oid === OID.subjectKeyIdentifier) {
      ski = Buffer.from(fromDer(Buffer.from(valueDer, "binary")).value as string, "binary");
    } else if (oid === OID.nameConstraints) {
      permittedDns = [];
      for (const tagged of fromDer(Buffer.from(valueDer, "binary")).value as Asn1[]) {
        if (tagged.type !== 0) continue;
        for (const sub of tagged.value as Asn1[]) {
          const base = (sub.value as Asn1[])[0];
          if (base?.type === 2) permittedDns.push((base.value as string).toLowerCase());
        }
      }
    }
  }
  return { subject, subjectKeyIdentifier: ski, permittedDns };
}
