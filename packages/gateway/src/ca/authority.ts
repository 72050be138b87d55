import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  X509Certificate,
} from "node:crypto";
import { hostname } from "node:os";
import type forge from "node-forge";
import {
  buildCertificate,
  CertificateError,
  derToPem,
  encodeName,
  keyIdentifier,
  nameConstraintsValue,
  octetString,
  randomSerial,
  readCertificateParts,
  type Signer,
  signerFor,
} from "./x509.js";

/** A loaded issuing CA: everything leaf minting needs, parsed once. */
export interface CertificateAuthority {
  /** The issuing certificate (PEM). */
  readonly certPem: string;
  /** The issuing certificate followed by any further chain certificates from the same file. */
  readonly chainPem: string;
  readonly certificate: X509Certificate;
  readonly signer: Signer;
  readonly subjectAsn1: forge.asn1.Asn1;
  readonly keyId: Buffer;
  /** dNSName subtrees the CA may issue for; null = unconstrained. */
  readonly permittedDns: string[] | null;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export interface CreateCaOptions {
  keyType: "ec" | "rsa";
  /** Permitted DNS subtrees (name constraints). null = no name constraints. */
  permit: string[] | null;
  commonName?: string;
  validityDays?: number;
  now?: Date;
}

export const DEFAULT_CA_VALIDITY_DAYS = 5 * 365;

/** Creates a self-signed root: CA:true, pathlen 0, keyCertSign|cRLSign, and name constraints by default. */
export function createCa(opts: CreateCaOptions): { certPem: string; keyPem: string } {
  const { privateKey, publicKey } =
    opts.keyType === "ec"
      ? generateKeyPairSync("ec", { namedCurve: "P-256" })
      : generateKeyPairSync("rsa", { modulusLength: 3072 });
  const now = opts.now ?? new Date();
  const spkiDer = publicKey.export({ type: "spki", format: "der" });
  const keyId = keyIdentifier(spkiDer);
  const date = now.toISOString().slice(0, 10);
  const cn = (opts.commonName ?? `copilot-audit CA ${hostname()} ${date}`).slice(0, 64);
  const name = encodeName([
    { name: "organizationName", value: "copilot-audit" },
    { name: "commonName", value: cn },
  ]);
  const extensions: Array<Record<string, unknown>> = [
    { name: "basicConstraints", cA: true, pathLenConstraint: 0, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: "subjectKeyIdentifier", value: octetString(keyId) },
    { name: "authorityKeyIdentifier", keyIdentifier: keyId.toString("binary") },
  ];
  if (opts.permit && opts.permit.length > 0) {
    extensions.push({ id: "2.5.29.30", critical: true, value: nameConstraintsValue(opts.permit) });
  }
  const der = buildCertificate({
    serialHex: randomSerial(),
    signer: signerFor(privateKey),
    issuer: name,
    subject: name,
    notBefore: new Date(now.getTime() - 60 * 60 * 1000),
    notAfter: new Date(now.getTime() + (opts.validityDays ?? DEFAULT_CA_VALIDITY_DAYS) * 86_400_000),
    spkiDer,
    extensions,
  });
  return {
    certPem: derToPem(der),
    keyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}

/** Splits a PEM bundle into its certificates. */
export function splitPemCertificates(pem: string): string[] {
  return (
    pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.map((p) => `${p}\n`) ?? []
  );
}

/**
 * Loads an issuing CA (ours, or an existing org CA/intermediate, RSA or EC). The first certificate in
 * `certPem` must be the one matching the key; further certificates are sent as its chain.
 */
export function loadCa(input: {
  certPem: string;
  keyPem: string;
  passphrase?: string;
  now?: Date;
}): CertificateAuthority {
  const certs = splitPemCertificates(input.certPem);
  const first = certs[0];
  if (!first)
    throw new CertificateError("ca_cert_invalid", "the CA certificate file holds no PEM certificate");
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(first);
  } catch (e) {
    throw new CertificateError(
      "ca_cert_invalid",
      `the CA certificate cannot be parsed: ${(e as Error).message}`,
    );
  }
  let key: KeyObject;
  if (input.passphrase === undefined && /ENCRYPTED/.test(input.keyPem)) {
    throw new CertificateError(
      "ca_key_invalid",
      "the CA key is encrypted: give its passphrase (caKeyPassphrase in the config, or CA_KEY_PASSPHRASE)",
    );
  }
  try {
    key = createPrivateKey(
      input.passphrase === undefined ? input.keyPem : { key: input.keyPem, passphrase: input.passphrase },
    );
  } catch (e) {
    const msg = (e as Error).message;
    throw new CertificateError(
      "ca_key_invalid",
      /passphrase|decrypt|bad decrypt/i.test(msg)
        ? "the CA key could not be decrypted: check its passphrase (caKeyPassphrase / CA_KEY_PASSPHRASE)"
        : `the CA key cannot be parsed: ${msg}`,
    );
  }
  if (!certificate.checkPrivateKey(key)) {
    throw new CertificateError("ca_mismatch", "the CA key does not belong to the CA certificate");
  }
  if (!certificate.ca) {
    throw new CertificateError(
      "ca_not_ca",
      `${certificate.subject.replace(/\n/g, ", ")} is not a CA certificate (basicConstraints CA:false)`,
    );
  }
  const now = input.now ?? new Date();
  const notBefore = new Date(certificate.validFrom);
  const notAfter = new Date(certificate.validTo);
  if (notAfter <= now) {
    throw new CertificateError(
      "ca_expired",
      `the CA certificate expired on ${notAfter.toISOString()}: create a new one`,
    );
  }
  const signer = signerFor(key);
  const parts = readCertificateParts(certificate.raw);
  const spki = createPublicKey(key).export({ type: "spki", format: "der" });
  return {
    certPem: first,
    chainPem: certs.join(""),
    certificate,
    signer,
    subjectAsn1: parts.subject,
    keyId: parts.subjectKeyIdentifier ?? keyIdentifier(spki),
    permittedDns: parts.permittedDns,
    notBefore,
    notAfter,
  };
}

/** What `ca show` prints: everything readable from the certificate alone (no key needed). */
export interface CaDescription {
  subject: string;
  keyType: string;
  notBefore: Date;
  notAfter: Date;
  sha256: string;
  /** null = no name constraints. */
  permittedDns: string[] | null;
  isCa: boolean;
  chainLength: number;
}

export function describeCaCertificate(certPem: string): CaDescription {
  const certs = splitPemCertificates(certPem);
  const first = certs[0];
  if (!first) throw new CertificateError("ca_cert_invalid", "the file holds no PEM certificate");
  let c: X509Certificate;
  try {
    c = new X509Certificate(first);
  } catch (e) {
    throw new CertificateError(
      "ca_cert_invalid",
      `the certificate cannot be parsed: ${(e as Error).message}`,
    );
  }
  const kt = c.publicKey.asymmetricKeyType;
  const details = c.publicKey.asymmetricKeyDetails;
  return {
    subject: c.subject.replace(/\n/g, ", "),
    keyType:
      kt === "ec"
        ? `EC ${details?.namedCurve ?? ""}`.trim()
        : kt === "rsa"
          ? `RSA ${details?.modulusLength ?? ""}`.trim()
          : String(kt),
    notBefore: new Date(c.validFrom),
    notAfter: new Date(c.validTo),
    sha256: c.fingerprint256,
    permittedDns: readCertificateParts(c.raw).permittedDns,
    isCa: c.ca,
    chainLength: certs.length,
  };
}
