/**
 * The controller started before its cert Secret exists, over real HTTPS on loopback: it serves a
 * temporary certificate and /readyz says it waits; when the files appear (written like the kubelet
 * writes a Secret volume: a `..data` symlink swap) a client trusting the real CA connects; a rotation
 * is served without a restart (checked by the served certificate's fingerprint and serial); a broken
 * rotation or vanished files leave the last good pair in place.
 */
import { X509Certificate } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type PeerCertificate } from "node:tls";
import { expect } from "chai";
import { Agent, request } from "undici";
import { silentLogger } from "../../../lib/logger.ts";
import { generateCertificateAuthority, issueServingCertificate } from "../../../lib/tls-certs.ts";
import { MemoryKubeApi } from "../../../webhook/kube/memory-kube-api.ts";
import { startController, type RunningController } from "../../../webhook/server/controller.ts";
import { writeSecretVolume } from "../../support/secret-volume.ts";
import { testConfig } from "../../unit/webhook/webhook-fixtures.ts";

interface Issued {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

function issue(name: string): Issued {
  const ca = generateCertificateAuthority(name);
  const cert = issueServingCertificate(ca, { hosts: ["127.0.0.1"] });
  return { caPem: ca.certPem, certPem: cert.certPem, keyPem: cert.keyPem };
}

/** The certificate the server presents to a new connection (no verification). */
function servedCertificate(port: number): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      const cert = socket.getPeerCertificate();
      socket.destroy();
      resolve(cert);
    });
    socket.once("error", reject);
  });
}

/** True when a client trusting only `caPem` completes the handshake (hostname 127.0.0.1 checked). */
function trustedBy(port: number, caPem: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port, ca: caPem }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("webhook serving certificate: started before the Secret, then loaded and rotated", function () {
  this.timeout(30_000);
  let dir: string;
  let volume: string;
  let controller: RunningController;
  let insecure: Agent;

  async function readyz(query = ""): Promise<{ status: number; body: any }> {
    const res = await request(`${controller.url}/readyz${query}`, { dispatcher: insecure });
    return { status: res.statusCode, body: await res.body.json() };
  }

  const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;
  const bundleOf = (...issued: Issued[]) => issued.map((i) => i.caPem).join("");

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "acr-p2p-serving-"));
    volume = join(dir, "tls");
    const config = testConfig([
      "--listen",
      "127.0.0.1:0",
      "--tls-cert",
      join(volume, "tls.crt"),
      "--tls-key",
      join(volume, "tls.key"),
      "--tls-ca",
      join(volume, "ca.crt"),
    ]);
    controller = await startController(config, {
      logger: silentLogger(),
      kube: new MemoryKubeApi(),
      tlsReloadMs: 50,
    });
    insecure = new Agent({ connect: { rejectUnauthorized: false } });
  });

  after(async () => {
    await insecure?.close();
    await controller?.close();
    await rm(dir, { recursive: true, force: true });
  });

  let first: Issued;
  let second: Issued;

  it("starts without the files: a temporary certificate, /readyz 503 waiting for it", async () => {
    expect(controller.servingCertificate.state).to.equal("waiting");
    expect((await servedCertificate(controller.port)).fingerprint256).to.equal(
      fingerprint(controller.tls.certPem),
    );
    const ready = await readyz();
    expect(ready.status).to.equal(503);
    expect(ready.body.detail.servingCertificate).to.match(
      /^waiting for serving certificate \(.*tls\.crt is missing\)$/,
    );
    // The chart's readiness probe leaves this check out (helm install --wait runs certgen only after).
    const probe = await readyz("?exclude=servingCertificate");
    expect(probe.status, JSON.stringify(probe.body)).to.equal(200);
    expect(probe.body.detail.servingCertificate).to.match(/^waiting/);
    expect(controller.servingCertificate.caPem()).to.equal(undefined);
    first = issue("first");
    expect(await trustedBy(controller.port, first.caPem)).to.equal(false);
  });

  it("serves the real certificate once the volume is filled in, without a restart", async () => {
    writeSecretVolume(volume, { "tls.crt": first.certPem, "tls.key": first.keyPem, "ca.crt": first.caPem });
    await eventually("a client trusting the real CA connects", () => trustedBy(controller.port, first.caPem));
    const served = await servedCertificate(controller.port);
    expect(served.fingerprint256).to.equal(fingerprint(first.certPem));
    const ready = await readyz();
    expect(ready.status, JSON.stringify(ready.body)).to.equal(200);
    const serial = new X509Certificate(first.certPem).serialNumber;
    expect(ready.body.detail.servingCertificate).to.include(`serial ${serial}`);
    expect(controller.servingCertificate.state).to.equal("files");
    expect(controller.servingCertificate.caPem()).to.equal(first.caPem);
    // And an AdmissionReview-capable client (undici) verifying against that CA gets answers.
    const verified = new Agent({ connect: { ca: first.caPem } });
    try {
      expect((await request(`${controller.url}/healthz`, { dispatcher: verified })).statusCode).to.equal(200);
    } finally {
      await verified.close();
    }
  });

  it("serves a rotated certificate (new serial) and reads the new CA bundle", async () => {
    second = issue("second");
    const changes: string[] = [];
    const unsubscribe = controller.servingCertificate.onChange((m) => changes.push(fingerprint(m.certPem)));
    // certgen keeps the previous CA in ca.crt while it is valid.
    writeSecretVolume(volume, {
      "tls.crt": second.certPem,
      "tls.key": second.keyPem,
      "ca.crt": bundleOf(second, first),
    });
    await eventually(
      "the rotated certificate is served",
      async () => (await servedCertificate(controller.port)).fingerprint256 === fingerprint(second.certPem),
    );
    unsubscribe();
    const served = await servedCertificate(controller.port);
    expect(served.serialNumber.toLowerCase()).to.equal(
      new X509Certificate(second.certPem).serialNumber.toLowerCase(),
    );
    expect(await trustedBy(controller.port, second.caPem)).to.equal(true);
    expect(await trustedBy(controller.port, first.caPem)).to.equal(false);
    expect(controller.servingCertificate.caPem()).to.equal(bundleOf(second, first));
    expect(changes).to.deep.equal([fingerprint(second.certPem)]);
  });

  it("keeps the last good pair when a rotation is broken or the files vanish", async () => {
    const third = issue("third");
    // A certificate with another pair's key: refused, the served one stays, readiness says why.
    writeSecretVolume(volume, { "tls.crt": third.certPem, "tls.key": second.keyPem, "ca.crt": third.caPem });
    await eventually("readiness reports the unusable files", async () =>
      /not a usable pair/.test((await readyz()).body.detail.servingCertificate),
    );
    const ready = await readyz();
    expect(ready.status).to.equal(200);
    expect((await servedCertificate(controller.port)).fingerprint256).to.equal(fingerprint(second.certPem));
    // The Secret deleted: the volume empties; the served pair stays.
    writeSecretVolume(volume, {});
    await eventually("readiness reports the missing files", async () =>
      /is missing/.test((await readyz()).body.detail.servingCertificate),
    );
    expect((await readyz()).status).to.equal(200);
    expect(await trustedBy(controller.port, second.caPem)).to.equal(true);
  });
});
