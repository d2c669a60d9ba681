/** lib/tls-certs.ts: a CA and a serving certificate that Node's own X.509 code accepts. */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { expect } from "chai";
import {
  certificateCovers,
  generateCertificateAuthority,
  issueServingCertificate,
  secondsUntilExpiry,
  serviceHostNames,
} from "../../../lib/tls-certs.ts";

describe("TLS certificates (node-forge)", () => {
  const ca = generateCertificateAuthority("test-ca");
  const hosts = [...serviceHostNames("svc", "ns"), "localhost", "127.0.0.1", "::1"];
  const cert = issueServingCertificate(ca, { hosts, validityDays: 30 });

  it("issues a serving certificate signed by the CA, with DNS and IP SANs", () => {
    const x = new X509Certificate(cert.certPem);
    const caX = new X509Certificate(ca.certPem);
    expect(x.verify(caX.publicKey)).to.equal(true);
    expect(x.checkIssued(caX)).to.equal(true);
    expect(caX.ca).to.equal(true);
    expect(x.ca).to.equal(false);
    expect(x.subjectAltName).to.include("DNS:svc.ns.svc.cluster.local").and.include("IP Address:127.0.0.1");
    expect(x.checkHost("svc.ns.svc")).to.equal("svc.ns.svc");
    expect(x.checkIP("127.0.0.1")).to.equal("127.0.0.1");
    expect(x.checkPrivateKey(createPrivateKey(cert.keyPem))).to.equal(true);
  });

  it("checks coverage and expiry", () => {
    expect(certificateCovers(cert.certPem, ca.certPem, ["svc.ns.svc", "127.0.0.1"])).to.equal(true);
    expect(certificateCovers(cert.certPem, ca.certPem, ["other.ns.svc"])).to.equal(false);
    const other = generateCertificateAuthority("other");
    expect(certificateCovers(cert.certPem, other.certPem, ["svc"])).to.equal(false);
    const left = secondsUntilExpiry(cert.certPem);
    expect(left).to.be.within(29 * 86400, 30 * 86400);
  });
});
