/**
 * certgen as the chart's Job runs it (the pod template's args and env, the job ServiceAccount's RBAC):
 * from no Secret it creates the CA and serving certificate and patches caBundle, after which the API
 * server calls the webhook successfully; a second run changes nothing; a certificate due for renewal
 * is re-issued and caBundle still verifies it.
 */
import { X509Certificate } from "node:crypto";
import { expect } from "chai";
import { BatchV1Api, CoreV1Api } from "@kubernetes/client-node";
import { REPO_ROOT } from "../support/cluster.ts";
import { CHART_NAMESPACE, JOB_SA, RELEASE, TLS_SECRET } from "../support/cluster-chart.ts";
import { serviceAccountKubeconfig } from "../support/cluster-objects.ts";
import type { TestCa } from "../support/cloud/test-ca.ts";
import { patchCaBundle, readCaBundles, writeServingSecret } from "../support/cluster-tls.ts";
import { runCommand, waitUntil, type CommandResult } from "../support/origin/child-process.ts";
import {
  sharedWebhook,
  startWebhookProcess,
  stopWebhookProcess,
  needsLocalWebhook,
  webhookActive,
  type WebhookRig,
} from "../support/cluster-webhook.ts";

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

  async function restartWebhook(secret: ServingSecret): Promise<void> {
    await stopWebhookProcess(rig);
    rig.ca = { caPem: secret.ca, certPem: secret.cert, keyPem: secret.key };
    await startWebhookProcess(rig);
    await waitUntil(
      () => webhookActive(rig),
      20_000,
      () => `webhook not called with the new certificate:\n${rig.process?.logTail()}`,
      200,
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

  it("creates the Secret and patches caBundle; the API server then calls the webhook", async function () {
    await core.deleteNamespacedSecret({ name: TLS_SECRET, namespace: CHART_NAMESPACE });
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
    await restartWebhook(secret);
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
    await restartWebhook(after);
  });
});
