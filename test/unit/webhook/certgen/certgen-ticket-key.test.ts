/**
 * certgen's peer ticket key (`ticket.key` in the serving Secret): created with the Secret, kept across
 * certificate renewals, and added to a Secret that lacks a usable one without touching the certificate.
 */
import { createPrivateKey, sign, verify } from "node:crypto";
import { expect } from "chai";
import { silentLogger } from "../../../../lib/logger.ts";
import { ticketKeyFromPem } from "../../../../contract/peer-ticket.ts";
import { MemoryCertgenApi, type ServingSecretData } from "../../../../webhook/certgen/certgen-api.ts";
import { parseCertgenArgs, type CertgenConfig } from "../../../../webhook/certgen/certgen-config.ts";
import { runCertgen } from "../../../../webhook/certgen/run-certgen.ts";

const SECRET = "p2p/ack-acr-acceleration-p2p-tls";
const DAY = 24 * 3600 * 1000;

function config(): CertgenConfig {
  const c = parseCertgenArgs([], { ACR_P2P_NAMESPACE: "p2p" }).config;
  if (!c) throw new Error("no config");
  return c;
}

function api(): MemoryCertgenApi {
  const a = new MemoryCertgenApi();
  a.webhookConfigs.set("ack-acr-acceleration-p2p", [
    { name: "pod.p2p.acceleration.acr.aliyun.com", caBundle: "" },
  ]);
  return a;
}

function secretData(a: MemoryCertgenApi): ServingSecretData {
  const data = a.secrets.get(SECRET)?.data;
  if (!data) throw new Error(`no Secret ${SECRET}`);
  return data;
}

/** Replaces the stored Secret's data (as another writer would), bumping its resourceVersion. */
function overwrite(a: MemoryCertgenApi, data: Partial<ServingSecretData>): void {
  const s = a.secrets.get(SECRET);
  if (!s) throw new Error(`no Secret ${SECRET}`);
  a.secrets.set(SECRET, { data: data as ServingSecretData, resourceVersion: s.resourceVersion + 1 });
}

/** A usable Ed25519 PKCS#8 key: it parses as such and signs what its public half verifies. */
function expectEd25519Pkcs8(pem: string | undefined): void {
  expect(pem)
    .to.be.a("string")
    .and.match(/^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n?$/);
  const key = createPrivateKey(pem as string);
  expect(key.asymmetricKeyType).to.equal("ed25519");
  expect(key.export({ type: "pkcs8", format: "pem" }).toString()).to.equal(pem);
  const signingKey = ticketKeyFromPem(pem as string);
  const message = Buffer.from("peer ticket");
  expect(verify(null, message, signingKey.publicKey, sign(null, message, key))).to.equal(true);
}

describe("certgen: peer ticket key", function () {
  this.timeout(30_000);

  it("creates ticket.key with the Secret: a valid Ed25519 PKCS#8 key, different for each new Secret", async () => {
    const a = api();
    await runCertgen(a, config(), silentLogger());
    const first = secretData(a)["ticket.key"];
    expectEd25519Pkcs8(first);

    const b = api();
    await runCertgen(b, config(), silentLogger());
    expect(secretData(b)["ticket.key"]).to.not.equal(first);
  });

  it("keeps ticket.key when the certificate is renewed, and on a run with nothing to do", async () => {
    const a = api();
    await runCertgen(a, config(), silentLogger());
    const before = secretData(a);

    const kept = await runCertgen(a, config(), silentLogger());
    expect(kept.issued).to.equal(undefined);
    expect(secretData(a)).to.deep.equal(before);

    const renewed = await runCertgen(a, config(), silentLogger(), new Date(Date.now() + 340 * DAY));
    expect(renewed.issued).to.match(/expires in/);
    const after = secretData(a);
    expect(after["tls.crt"]).to.not.equal(before["tls.crt"]);
    expect(after["ticket.key"]).to.equal(before["ticket.key"]);
  });

  it("adds ticket.key to an existing Secret that lacks it, keeping the certificate", async () => {
    const a = api();
    await runCertgen(a, config(), silentLogger());
    const { "ticket.key": _dropped, ...old } = secretData(a);
    overwrite(a, old);
    const writes = a.writes.length;

    const r = await runCertgen(a, config(), silentLogger());
    expect(r).to.deep.equal({ issued: undefined, caBundlePatched: false });
    expect(a.writes.slice(writes)).to.deep.equal([`update secret ${SECRET}`]);
    const after = secretData(a);
    expect(after["tls.crt"]).to.equal(old["tls.crt"]);
    expect(after["tls.key"]).to.equal(old["tls.key"]);
    expect(after["ca.crt"]).to.equal(old["ca.crt"]);
    expectEd25519Pkcs8(after["ticket.key"]);

    // The added key is then kept: the next run writes nothing.
    await runCertgen(a, config(), silentLogger());
    expect(a.writes).to.have.length(writes + 1);
    expect(secretData(a)["ticket.key"]).to.equal(after["ticket.key"]);
  });

  it("replaces an unusable ticket.key (not Ed25519, or not a key), keeping the certificate", async () => {
    const a = api();
    await runCertgen(a, config(), silentLogger());
    const good = secretData(a);
    for (const bad of [good["tls.key"], "not a key"]) {
      overwrite(a, { ...good, "ticket.key": bad });
      const r = await runCertgen(a, config(), silentLogger());
      expect(r.issued).to.equal(undefined);
      const after = secretData(a);
      expect(after["tls.crt"]).to.equal(good["tls.crt"]);
      expect(after["ticket.key"]).to.not.equal(bad);
      expectEd25519Pkcs8(after["ticket.key"]);
    }
  });
});
