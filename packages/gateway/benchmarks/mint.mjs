// Leaf minting cost: node-forge builds the TBSCertificate, node:crypto signs. Also the same leaf signed by
// forge's pure-JS RSA (what http-mitm-proxy does) as the baseline, in the same run.
// Run: npx tsc -b packages/gateway && node packages/gateway/benchmarks/mint.mjs
import { generateKeyPairSync } from "node:crypto";
import { createSecureContext } from "node:tls";
import forge from "node-forge";
import { createCa, createLeafKey, loadCa, mintLeaf } from "../dist/index.js";

const N = 300;
const time = (fn) => {
  for (let i = 0; i < 20; i++) fn(i);
  const t = performance.now();
  for (let i = 0; i < N; i++) fn(i);
  return (performance.now() - t) / N;
};
for (const keyType of ["ec", "rsa"]) {
  const ca = loadCa(createCa({ keyType, permit: ["githubcopilot.com"] }));
  const key = createLeafKey("ec");
  const mint = time((i) => mintLeaf(ca, key, `h${i}.githubcopilot.com`));
  const withContext = time((i) => {
    const leaf = mintLeaf(ca, key, `h${i}.githubcopilot.com`);
    createSecureContext({ key: key.privateKeyPem, cert: leaf.certChainPem });
  });
  console.log(
    `${keyType.toUpperCase()} CA: mint ${mint.toFixed(3)} ms; mint + SecureContext ${withContext.toFixed(3)} ms`,
  );
}
// Baseline: forge end to end with an RSA-2048 CA (build + pure-JS sign).
const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const caKey = forge.pki.privateKeyFromPem(privateKey.export({ type: "pkcs1", format: "pem" }).toString());
const leafPub = forge.pki.rsa.setPublicKey(caKey.n, caKey.e);
const forgeOnly = (() => {
  const n = 30;
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    const c = forge.pki.createCertificate();
    c.publicKey = leafPub;
    c.serialNumber = "01";
    c.validity.notBefore = new Date();
    c.validity.notAfter = new Date(Date.now() + 86_400_000);
    c.setSubject([{ name: "commonName", value: `h${i}.githubcopilot.com` }]);
    c.setIssuer([{ name: "commonName", value: "ca" }]);
    c.sign(caKey, forge.md.sha256.create());
  }
  return (performance.now() - t) / n;
})();
console.log(`baseline, forge build + pure-JS RSA-2048 sign: ${forgeOnly.toFixed(3)} ms`);
