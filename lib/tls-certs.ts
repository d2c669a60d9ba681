/**
 * A private CA and serving certificates, made with node-forge. The webhook makes a throwaway pair when
 * it is given none (development, tests, benchmarks); the certgen install Job makes the pair the
 * cluster uses and publishes the CA as the webhook configuration's caBundle.
 *
 * RSA 2048 keys: node-forge hands key generation to Node's native crypto when it is available, so a
 * pair costs milliseconds, not seconds. Forge only makes certificates: reading and checking them
 * (signature, names, expiry) is Node's X509Certificate's job, in webhook/certgen/serving-secret.ts and
 * webhook/server/serving-certificate.ts.
 */
import { isIP } from "node:net";
import forge from "node-forge";
import { CodedError } from "./coded-error.ts";

export interface CertificateAuthority {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface ServingCertificate {
  readonly certPem: string;
  readonly keyPem: string;
  /** The CA certificate that signed it (what a client must trust, the caBundle). */
  readonly caPem: string;
}

export interface ServingCertOptions {
  /** DNS names and IP addresses the certificate is valid for; the first one is also its CN. */
  readonly hosts: readonly string[];
  readonly validityDays?: number;
}

export class TlsCertError extends CodedError<"TLS_CERT_INVALID"> {
  constructor(message: string) {
    super("TLS_CERT_INVALID", message);
    this.name = "TlsCertError";
  }
}

const DEFAULT_CA_DAYS = 3650;
const DEFAULT_SERVING_DAYS = 825;
// Clocks of the apiserver and this process may disagree a little.
const BACKDATE_MS = 5 * 60 * 1000;

export function generateCertificateAuthority(
  commonName = "acr-p2p-ca",
  validityDays = DEFAULT_CA_DAYS,
): CertificateAuthority {
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
  const cert = newCertificate(keys.publicKey, validityDays);
  const subject = [{ name: "commonName", value: commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return {
    certPem: forge.pki.certificateToPem(cert),
    keyPem: forge.pki.privateKeyToPem(keys.privateKey),
  };
}

export function issueServingCertificate(
  ca: CertificateAuthority,
  options: ServingCertOptions,
): ServingCertificate {
  const hosts = [...new Set(options.hosts)];
  const first = hosts[0];
  if (first === undefined) throw new TlsCertError("a serving certificate needs at least one DNS name or IP");
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
  const cert = newCertificate(keys.publicKey, options.validityDays ?? DEFAULT_SERVING_DAYS);
  cert.setSubject([{ name: "commonName", value: first.slice(0, 64) }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true },
    { name: "subjectAltName", altNames: hosts.map(altName) },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return {
    certPem: forge.pki.certificateToPem(cert),
    keyPem: forge.pki.privateKeyToPem(keys.privateKey),
    caPem: ca.certPem,
  };
}

/** The names a Service's clients use: `svc`, `svc.ns`, `svc.ns.svc`, `svc.ns.svc.cluster.local`. */
export function serviceHostNames(service: string, namespace: string): string[] {
  return [
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`,
  ];
}

function newCertificate(publicKey: forge.pki.PublicKey, validityDays: number): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  // A positive, minimally encoded DER integer (OpenSSL and Go's crypto/x509 refuse anything else):
  // the leading 0x01 makes the first byte non-zero with its top bit clear, whatever the random bytes.
  // ("00" + random was wrong about 1 time in 512: forge strips one redundant leading zero only, so a
  // draw starting 0x00 then a byte below 0x80 left "00 0x ...", illegal padding.)
  cert.serialNumber = "01" + forge.util.bytesToHex(forge.random.getBytesSync(16));
  const now = Date.now();
  cert.validity.notBefore = new Date(now - BACKDATE_MS);
  cert.validity.notAfter = new Date(now + validityDays * 24 * 3600 * 1000);
  return cert;
}

function altName(host: string): { type: number; value?: string; ip?: string } {
  // Type 7 is iPAddress, type 2 dNSName (RFC 5280).
  return isIP(host) !== 0 ? { type: 7, ip: host } : { type: 2, value: host };
}
