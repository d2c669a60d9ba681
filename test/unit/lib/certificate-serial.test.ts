/**
 * lib/tls-certs.ts serial numbers: whatever the random draw, the DER INTEGER is positive and minimal,
 * so OpenSSL (Node's X509Certificate, TLS) and Go's crypto/x509 (the API server) read the certificate.
 * The draw is forced to all zeros, the case that used to come out as "00 00 …" (about 1 in 512).
 */
import { X509Certificate } from "node:crypto";
import { expect } from "chai";
import forge from "node-forge";
import { generateCertificateAuthority, issueServingCertificate } from "../../../lib/tls-certs.ts";

/** Runs `fn` with forge's 16-byte draws (the serials) all zeros; other draws stay random. */
function withZeroSerialDraws<T>(fn: () => T): T {
  const random = forge.random as { getBytesSync(count: number): string };
  const real = random.getBytesSync;
  random.getBytesSync = (count) => (count === 16 ? "\0".repeat(16) : real.call(random, count));
  try {
    return fn();
  } finally {
    random.getBytesSync = real;
  }
}

/** The serial's DER content octets (the TBSCertificate's second element after the version). */
function serialOctets(certPem: string): string {
  const tbs = forge.asn1.fromDer(forge.pem.decode(certPem)[0]?.body ?? "").value[0] as forge.asn1.Asn1;
  const serial = (tbs.value as forge.asn1.Asn1[])[1] as forge.asn1.Asn1;
  return forge.util.bytesToHex(serial.value as string);
}

describe("TLS certificate serial numbers", function () {
  this.timeout(20_000);

  it("are positive, minimal DER integers even for an all-zero random draw", () => {
    const { ca, cert } = withZeroSerialDraws(() => {
      const ca = generateCertificateAuthority("zero-serial-ca");
      return { ca, cert: issueServingCertificate(ca, { hosts: ["svc.ns.svc"] }) };
    });
    for (const pem of [ca.certPem, cert.certPem]) {
      const octets = serialOctets(pem);
      expect(octets.length).to.be.at.most(40); // RFC 5280: at most 20 octets
      expect(parseInt(octets.slice(0, 2), 16)).to.be.within(1, 0x7f);
      expect(new X509Certificate(pem).serialNumber).to.match(/^[0-9A-F]+$/);
    }
    expect(new X509Certificate(cert.certPem).verify(new X509Certificate(ca.certPem).publicKey)).to.equal(
      true,
    );
  });
});
