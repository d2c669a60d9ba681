/**
 * certgen as the chart's Job runs it (the pod template's args and env, the job ServiceAccount's RBAC),
 * in the order of a first `helm install --wait`: the controller starts from the chart's Deployment
 * before the cert Secret exists (optional volume: a temporary certificate, /readyz 503 waiting for
 * it, yet ready by the chart's probe path), certgen creates the CA and serving certificate and patches
 * caBundle, the volume fills in (written the way the kubelet writes it) and the API server then calls
 * the running webhook successfully, with no restart. A second run changes nothing; a certificate due
 * for renewal is re-issued, caBundle still verifies it, and the running webhook serves it once the
 * volume is updated.
 */
import { X509Certificate } from "node:crypto";
import { request } from "node:https";
import { connect } from "node:tls";
import { expect } from "chai";
import { AppsV1Api, BatchV1Api, CoreV1Api } from "@kubernetes/client-node";
import { REPO_ROOT } from "../support/cluster.ts";
import { CHART_NAMESPACE, JOB_SA, RELEASE, TLS_SECRET } from "../support/cluster-chart.ts";
import { serviceAccountKubeconfig } from "../support/cluster-objects.ts";
import type { TestCa } from "../support/cloud/test-ca.ts";
import { patchCaBundle, readCaBundles, writeServingSecret } from "../support/cluster-tls.ts";
import { makeTempDir, runCommand, waitUntil, type CommandResult } from "../support/origin/child-process.ts";
import {
  localMountDir,
  sharedWebhook,
  spawnControllerProcess,
  startActiveWebhook,
  stopWebhookProcess,
  needsLocalWebhook,
  waitWebhookActive,
  webhookActive,
  type WebhookRig,
} from "../support/cluster-webhook.ts";
import { writeSecretVolume } from "../support/secret-volume.ts";

/** GET over TLS without verifying the server (as the kubelet's HTTPS probes do). */
function probe(port: number, path: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve) => {
    const req = request(
      { host: "127.0.0.1", port, path, rejectUnauthorized: false, timeout: 2000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // /healthz answers text.
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on("error", () => resolve({ status: 0, body: undefined }));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

/** SHA-256 fingerprint of the certificate the server presents to a new connection. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.destroy();
      resolve(fingerprint);
    });
    socket.once("error", reject);
  });
}

interface ServingSecret {
  cert: string;
  key: string;
  ca: string;
}

describe("cluster: certgen", function () {
  this.timeout(120_000);
  let rig: WebhookRig;
  let core: CoreV1Api;

  /** Runs `acr-p2p certgen` with the chart's certgen pod template (the CronJob's, same as the hook Job's). */
  async function runCertgen(extraEnv: Record<string, string> = {}): Promise<CommandResult> {
    const kc = rig.cluster.kubeConfig;
    const cron = await kc
      .makeApiClient(BatchV1Api)
      .readNamespacedCronJob({ name: `${RELEASE}-certgen`, namespace: CHART_NAMESPACE });
    const container = cron.spec?.jobTemplate.spec?.template.spec?.containers[0];
    if (!container) throw new Error("the chart's certgen CronJob has no container");
    const env: Record<string, string> = {};
    for (const e of container.env ?? []) {
      if (e.value !== undefined) env[e.name] = e.value;
      else if (e.valueFrom?.fieldRef?.fieldPath === "metadata.namespace") env[e.name] = CHART_NAMESPACE;
    }
    env.KUBECONFIG = await serviceAccountKubeconfig(rig.cluster, CHART_NAMESPACE, JOB_SA, rig.dir);
    const args = [`${REPO_ROOT}/bin/acr-p2p.ts`, ...(container.command ?? []), ...(container.args ?? [])];
    return runCommand(process.execPath, args, {
      timeoutMs: 60_000,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: process.env.HOME ?? "/tmp",
        ...env,
        ...extraEnv,
      },
    });
  }

  async function readSecret(): Promise<ServingSecret> {
    const secret = await core.readNamespacedSecret({ name: TLS_SECRET, namespace: CHART_NAMESPACE });
    const get = (k: string) => Buffer.from(secret.data?.[k] ?? "", "base64").toString("utf8");
    return { cert: get("tls.crt"), key: get("tls.key"), ca: get("ca.crt") };
  }

  function verifiedBy(bundle: string, certPem: string): boolean {
    const cert = new X509Certificate(certPem);
    const cas = bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    return cas.some((pem) => cert.verify(new X509Certificate(pem).publicKey));
  }

  /** What the kubelet does with the controller's optional cert volume once the Secret exists or changes. */
  function syncVolume(dir: string, secret: ServingSecret): void {
    writeSecretVolume(localMountDir(dir, "tls"), {
      "tls.crt": secret.cert,
      "tls.key": secret.key,
      "ca.crt": secret.ca,
    });
  }

  async function restartWebhook(secret: ServingSecret): Promise<void> {
    await stopWebhookProcess(rig);
    rig.ca = { caPem: secret.ca, certPem: secret.cert, keyPem: secret.key };
    await startActiveWebhook(
      rig,
      () => `webhook not called with the new certificate:\n${rig.process?.logTail()}`,
    );
  }

  let original: TestCa;
  before(async function () {
    rig = await sharedWebhook();
    // On kind the chart's own hook Job ran certgen already (helm install --wait).
    needsLocalWebhook(this, rig);
    core = rig.cluster.kubeConfig.makeApiClient(CoreV1Api);
    original = rig.ca;
  });

  // If certgen failed half way, put the test certificate back so the other files still have a webhook.
  after(async function () {
    if (rig.cluster.external) return;
    const healthy = await readSecret().then(
      async () => rig.process !== undefined && (await webhookActive(rig)),
      () => false,
    );
    if (healthy) return;
    await writeServingSecret(rig.cluster.kubeConfig, CHART_NAMESPACE, TLS_SECRET, original);
    await patchCaBundle(rig.cluster.kubeConfig, original.caPem);
    await restartWebhook({ cert: original.certPem, key: original.keyPem, ca: original.caPem });
  });

  let controllerDir: string;

  it("a controller started before the Secret waits on a temporary certificate, ready by the chart's probe", async function () {
    await stopWebhookProcess(rig);
    await core.deleteNamespacedSecret({ name: TLS_SECRET, namespace: CHART_NAMESPACE });
    controllerDir = makeTempDir("before-certgen");
    rig.process = await spawnControllerProcess(rig.cluster, {
      port: rig.port,
      dir: controllerDir,
      logName: "before-certgen.log",
    });
    const logs = () => rig.process?.logTail() ?? "";
    await waitUntil(
      async () => (await probe(rig.port, "/healthz")).status === 200,
      30_000,
      () => `controller not serving without its Secret:\n${logs()}`,
      100,
    );
    const ready = await probe(rig.port, "/readyz");
    expect(ready.status, JSON.stringify(ready.body)).to.equal(503);
    expect(ready.body.detail.servingCertificate).to.match(
      /^waiting for serving certificate \(.*tls\.crt is missing\)$/,
    );
    const deployment = await rig.cluster.kubeConfig
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ name: RELEASE, namespace: CHART_NAMESPACE });
    const probePath = deployment.spec?.template.spec?.containers[0]?.readinessProbe?.httpGet?.path ?? "";
    const byProbe = await probe(rig.port, probePath);
    expect(byProbe.status, `${probePath}: ${JSON.stringify(byProbe.body)}`).to.equal(200);
    // The API server cannot verify the temporary certificate: pods are admitted unmodified.
    expect(await webhookActive(rig)).to.equal(false);
  });

  it("creates the Secret and patches caBundle; the running webhook serves it once the volume fills in", async function () {
    expect(rig.process?.running, "the controller of the previous test runs").to.equal(true);
    const r = await runCertgen();
    expect(r.code, `certgen failed:\n${r.stdout}\n${r.stderr}`).to.equal(0);
    const secret = await readSecret();
    expect(secret.key).to.include("PRIVATE KEY");
    const cert = new X509Certificate(secret.cert);
    const sans = cert.subjectAltName ?? "";
    expect(sans).to.include(`DNS:${RELEASE}.${CHART_NAMESPACE}.svc`);
    // The test values register the webhook by URL on 127.0.0.1: the chart passes that host on.
    expect(sans).to.include("IP Address:127.0.0.1");
    const bundles = await readCaBundles(rig.cluster.kubeConfig);
    expect(bundles).to.have.length(2);
    for (const bundle of bundles)
      expect(verifiedBy(bundle, secret.cert), "caBundle verifies tls.crt").to.equal(true);
    syncVolume(controllerDir, secret);
    rig.ca = { caPem: secret.ca, certPem: secret.cert, keyPem: secret.key };
    await waitWebhookActive(
      rig,
      () => `the API server does not call the webhook with certgen's certificate:\n${rig.process?.logTail()}`,
    );
    expect(await servedFingerprint(rig.port)).to.equal(new X509Certificate(secret.cert).fingerprint256);
    const ready = await probe(rig.port, "/readyz");
    expect(ready.status, JSON.stringify(ready.body)).to.equal(200);
    expect(ready.body.detail.servingCertificate).to.include(
      `serial ${new X509Certificate(secret.cert).serialNumber}`,
    );
  });

  it("changes nothing when run again with a valid certificate", async function () {
    const before = await readSecret();
    const bundlesBefore = await readCaBundles(rig.cluster.kubeConfig);
    const r = await runCertgen();
    expect(r.code, `certgen failed:\n${r.stdout}\n${r.stderr}`).to.equal(0);
    expect(await readSecret()).to.deep.equal(before);
    expect(await readCaBundles(rig.cluster.kubeConfig)).to.deep.equal(bundlesBefore);
  });

  it("re-issues a certificate due for renewal, and caBundle still verifies it", async function () {
    const before = await readSecret();
    // Renewing 400 days ahead makes the 365-day certificate due now.
    const r = await runCertgen({ ACR_P2P_CERT_RENEW_BEFORE_DAYS: "400", ACR_P2P_CERT_VALIDITY_DAYS: "3650" });
    expect(r.code, `certgen failed:\n${r.stdout}\n${r.stderr}`).to.equal(0);
    const after = await readSecret();
    expect(after.cert).to.not.equal(before.cert);
    for (const bundle of await readCaBundles(rig.cluster.kubeConfig)) {
      expect(verifiedBy(bundle, after.cert), "caBundle verifies the new tls.crt").to.equal(true);
    }
    // The kubelet swaps the volume; the running controller serves the new pair without a restart.
    syncVolume(controllerDir, after);
    rig.ca = { caPem: after.ca, certPem: after.cert, keyPem: after.key };
    const fingerprint = new X509Certificate(after.cert).fingerprint256;
    await waitUntil(
      async () => (await servedFingerprint(rig.port)) === fingerprint,
      20_000,
      () => `the renewed certificate is not served:\n${rig.process?.logTail()}`,
      200,
    );
    expect(await webhookActive(rig)).to.equal(true);
  });
});
