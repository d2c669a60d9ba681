/** certgen over the in-memory API: create, keep, renew (with CA rollover), re-issue for new names. */
import { X509Certificate } from "node:crypto";
import { expect } from "chai";
import { silentLogger } from "../../../../lib/logger.ts";
import { MemoryCertgenApi } from "../../../../webhook/certgen/certgen-api.ts";
import { parseCertgenArgs, type CertgenConfig } from "../../../../webhook/certgen/certgen-config.ts";
import { runCertgen } from "../../../../webhook/certgen/run-certgen.ts";
import { KubeApiError } from "../../../../webhook/kube/kube-api.ts";

const ENV = { ACR_P2P_NAMESPACE: "p2p", ACR_P2P_TLS_SANS: "127.0.0.1" };
const DAY = 24 * 3600 * 1000;

function config(env: Record<string, string> = {}): CertgenConfig {
  const c = parseCertgenArgs([], { ...ENV, ...env }).config;
  if (!c) throw new Error("no config");
  return c;
}

function api(): MemoryCertgenApi {
  const a = new MemoryCertgenApi();
  a.webhookConfigs.set("ack-acr-acceleration-p2p", [
    { name: "namespace.p2p.acceleration.acr.aliyun.com", caBundle: "" },
    { name: "pod.p2p.acceleration.acr.aliyun.com", caBundle: "" },
  ]);
  return a;
}

function verifies(bundle: string, certPem: string): boolean {
  const cert = new X509Certificate(certPem);
  return (bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).some((pem) =>
    cert.verify(new X509Certificate(pem).publicKey),
  );
}

describe("certgen", function () {
  this.timeout(20_000);

  it("creates the Secret for the Service's names and sets every caBundle; a second run writes nothing", async () => {
    const a = api();
    const first = await runCertgen(a, config(), silentLogger());
    expect(first.issued).to.equal("the Secret does not exist");
    const secret = a.secrets.get("p2p/ack-acr-acceleration-p2p-tls")?.data;
    const cert = new X509Certificate(secret?.["tls.crt"] ?? "");
    expect(cert.subjectAltName)
      .to.include("DNS:ack-acr-acceleration-p2p.p2p.svc")
      .and.include("IP Address:127.0.0.1");
    for (const w of a.webhookConfigs.get("ack-acr-acceleration-p2p") ?? [])
      expect(w.caBundle).to.equal(secret?.["ca.crt"]);
    expect(a.writes).to.deep.equal([
      "create secret p2p/ack-acr-acceleration-p2p-tls",
      "patch caBundle ack-acr-acceleration-p2p",
    ]);

    const again = await runCertgen(a, config(), silentLogger());
    expect(again).to.deep.equal({ issued: undefined, caBundlePatched: false });
    expect(a.writes).to.have.length(2);
  });

  it("renews ahead of expiry with a new CA, keeping the previous CA in the bundle", async () => {
    const a = api();
    await runCertgen(a, config(), silentLogger());
    const before = a.secrets.get("p2p/ack-acr-acceleration-p2p-tls")?.data;
    const later = new Date(Date.now() + 340 * DAY);
    const r = await runCertgen(a, config(), silentLogger(), later);
    expect(r.issued).to.match(/expires in 2\d\.\d days/);
    const after = a.secrets.get("p2p/ack-acr-acceleration-p2p-tls")?.data;
    expect(after?.["tls.crt"]).to.not.equal(before?.["tls.crt"]);
    expect(after?.["ca.crt"]?.match(/BEGIN CERTIFICATE/g)).to.have.length(2);
    expect(verifies(after?.["ca.crt"] ?? "", before?.["tls.crt"] ?? ""), "old cert still trusted").to.equal(
      true,
    );
    for (const w of a.webhookConfigs.get("ack-acr-acceleration-p2p") ?? [])
      expect(verifies(w.caBundle, after?.["tls.crt"] ?? "")).to.equal(true);
  });

  it("re-issues when the names change, and when the key does not match", async () => {
    const a = api();
    await runCertgen(a, config(), silentLogger());
    const renamed = await runCertgen(a, config({ ACR_P2P_SERVICE_NAME: "other" }), silentLogger());
    expect(renamed.issued).to.include("does not name other");

    const b = api();
    await runCertgen(b, config(), silentLogger());
    const mine = b.secrets.get("p2p/ack-acr-acceleration-p2p-tls");
    const theirs = a.secrets.get("p2p/ack-acr-acceleration-p2p-tls");
    if (!mine || !theirs) throw new Error("secrets missing");
    mine.data = { ...mine.data, "tls.key": theirs.data["tls.key"] };
    expect((await runCertgen(b, config(), silentLogger())).issued).to.equal("tls.key does not match tls.crt");
  });

  it("fails with NOT_FOUND when the webhook configuration is missing", async () => {
    let thrown: unknown;
    await runCertgen(new MemoryCertgenApi(), config(), silentLogger()).catch(
      (err: unknown) => (thrown = err),
    );
    expect(thrown).to.be.instanceOf(KubeApiError);
    expect((thrown as KubeApiError).code).to.equal("NOT_FOUND");
  });

  it("refuses renewing at least as early as the validity, naming the option", () => {
    expect(() => config({ ACR_P2P_CERT_RENEW_BEFORE_DAYS: "365" })).to.throw(
      /ACR_P2P_CERT_RENEW_BEFORE_DAYS.*less than/,
    );
  });
});
