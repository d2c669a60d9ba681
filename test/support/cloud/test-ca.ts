/**
 * A throwaway CA and one serving certificate for the cloud emulators, valid for 127.0.0.1,
 * 100.100.100.200 (the metadata address inside a test network namespace) and localhost. Clients
 * trust it through NODE_EXTRA_CA_CERTS (child processes) or `trustInProcess()` (this process),
 * never by turning verification off.
 *
 *   createTestCa() -> {caPem, certPem, keyPem}
 *   writeCaFile(ca, dir) -> path        for NODE_EXTRA_CA_CERTS
 *   trustInProcess(ca)                  adds the CA to this process's default trust store
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import tls from "node:tls";
import forge from "node-forge";

export interface TestCa {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

function rsaKeys(): {
  forgePrivate: forge.pki.rsa.PrivateKey;
  forgePublic: forge.pki.rsa.PublicKey;
  pem: string;
} {
  // node:crypto makes the key (forge's pure-JS keygen takes seconds); forge builds the certificates.
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  return {
    forgePrivate: forge.pki.privateKeyFromPem(pem),
    forgePublic: forge.pki.publicKeyFromPem(publicKey.export({ type: "spki", format: "pem" }).toString()),
    pem,
  };
}

function baseCert(publicKey: forge.pki.rsa.PublicKey, cn: string): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = "01" + randomBytes(8).toString("hex");
  const now = Date.now();
  // Generous validity: the expiry tests move the JS clock forward by hours, TLS uses the real one.
  cert.validity.notBefore = new Date(now - 24 * 3600_000);
  cert.validity.notAfter = new Date(now + 30 * 24 * 3600_000);
  cert.setSubject([{ name: "commonName", value: cn }]);
  return cert;
}

export function createTestCa(): TestCa {
  const caKeys = rsaKeys();
  // A unique name: OpenSSL finds an issuer by subject, so two test CAs trusted at once must differ.
  const ca = baseCert(caKeys.forgePublic, `acr-p2p cloud emulator test CA ${randomBytes(4).toString("hex")}`);
  ca.setIssuer(ca.subject.attributes);
  ca.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
  ]);
  ca.sign(caKeys.forgePrivate, forge.md.sha256.create());

  const serverKeys = rsaKeys();
  const cert = baseCert(serverKeys.forgePublic, "acr-p2p cloud emulator");
  cert.setIssuer(ca.subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
    { name: "extKeyUsage", serverAuth: true },
    {
      name: "subjectAltName",
      altNames: [
        { type: 7, ip: "127.0.0.1" },
        { type: 7, ip: "100.100.100.200" },
        { type: 2, value: "localhost" },
      ],
    },
  ]);
  cert.sign(caKeys.forgePrivate, forge.md.sha256.create());
  return {
    caPem: forge.pki.certificateToPem(ca),
    certPem: forge.pki.certificateToPem(cert),
    keyPem: serverKeys.pem,
  };
}

export function writeCaFile(ca: TestCa, dir: string): string {
  const path = join(dir, "cloud-test-ca.pem");
  writeFileSync(path, ca.caPem);
  return path;
}

/** Adds the CA to the default trust store of this process (what NODE_EXTRA_CA_CERTS does at start). */
export function trustInProcess(ca: TestCa): void {
  const current = tls.getCACertificates("default");
  if (!current.includes(ca.caPem)) tls.setDefaultCACertificates([...current, ca.caPem]);
}
