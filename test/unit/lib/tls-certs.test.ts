/** lib/tls-certs.ts: a CA and a serving certificate that Node's own X.509 code accepts. */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { expect } from "chai";
import {
  generateCertificateAuthority,
  issueServingCertificate,
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

  it("names only the hosts asked for, is signed by no other CA, and lasts the days asked for", () => {
    const x = new X509Certificate(cert.certPem);
    expect(x.checkHost("other.ns.svc")).to.equal(undefined);
    const other = new X509Certificate(generateCertificateAuthority("other").certPem);
    expect(x.verify(other.publicKey)).to.equal(false);
    const left = (new Date(x.validTo).getTime() - Date.now()) / 1000;
    expect(left).to.be.within(29 * 86400, 30 * 86400);
  });
});
