/**
 * RRSA against a real kube-apiserver, end to end. The chart is rendered with RRSA values (acrInstances,
 * region, vpcId, rrsa.*, acrTempCredentials) and its controller runs as a process the way the
 * Deployment runs it (cluster-webhook.ts): env from the rendered ConfigMap, the projected token volume
 * filled from TokenRequest (audience sts.aliyuncs.com) at the path the code reads by default, a
 * kubeconfig acting as the controller's ServiceAccount. Test stand-ins only: the STS / CR endpoints
 * (the emulators on loopback TLS, their CA in NODE_EXTRA_CA_CERTS) and the listen address.
 *
 * The STS emulator verifies the token against the API server's own issuer and JWKS (served at
 * /.well-known/openid-configuration and /openid/v1/jwks), as RAM does with an ACK cluster's OIDC
 * provider. The resolved VPC host then drives real admissions: the API server sends a pod using that
 * host to the controller, which injects it and, the pod naming no pull secret, gives it the temporary
 * credentials secret it created with the chart's RBAC.
 */
import { request } from "node:https";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { CoreV1Api, OpenidApi, WellKnownApi, type V1Pod } from "@kubernetes/client-node";
import { DEFAULT_OIDC_TOKEN_FILE } from "../../webhook/cloud/cloud-options.ts";
import {
  CHART_NAMESPACE,
  CONTROLLER_SA,
  renderChart,
  testValues,
  writeValuesFile,
} from "../support/cluster-chart.ts";
import { createTestNamespace, deleteNamespaces, MODE_LABEL } from "../support/cluster-objects.ts";
import { RESTRICTED } from "../support/cluster-pods.ts";
import {
  needsLocalWebhook,
  sharedWebhook,
  spawnControllerProcess,
  startActiveWebhook,
  stopWebhookProcess,
  waitHealthy,
  waitWebhookActive,
  type WebhookRig,
} from "../support/cluster-webhook.ts";
import { REGION, startCloudRig, VPC_ID, type CloudRig } from "../support/cloud/cloud-rig.ts";
import { internetDomain, vpcDomain } from "../support/cloud/cr-emulator.ts";
import { startInProcess } from "../support/cloud/in-process.ts";
import type { JsonWebKeySet } from "../support/cloud/oidc-issuer.ts";
import { writeCaFile } from "../support/cloud/test-ca.ts";
import type { ManagedProcess } from "../support/origin/child-process.ts";

const TEMP_SECRET = "acr-p2p-acr-temp-credentials";

/** The generated client types these documents as strings but hands back parsed JSON. */
function asJson<T>(value: unknown): T {
  return (typeof value === "string" ? JSON.parse(value) : value) as T;
}

function readyz(port: number, caPem: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/readyz", ca: caPem, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) }),
      );
    });
    req.once("error", reject);
    req.on("timeout", () => req.destroy(new Error("readyz timed out")));
    req.end();
  });
}

function podWithImage(name: string, image: string): V1Pod {
  return {
    metadata: { name },
    spec: { containers: [{ name: "app", image, securityContext: RESTRICTED }] },
  };
}

describe("cluster: RRSA with a TokenRequest token verified against the API server's JWKS", function () {
  this.timeout(120_000);
  let webhook: WebhookRig;
  let rig: CloudRig;
  let dir: string;
  let controller: ManagedProcess | undefined;
  let tookOver = false;
  const namespaces: string[] = [];

  before(async function () {
    webhook = await sharedWebhook();
    const kc = webhook.cluster.kubeConfig;
    const discovery = asJson<{ issuer: string }>(
      await kc.makeApiClient(WellKnownApi).getServiceAccountIssuerOpenIDConfiguration(),
    );
    const jwks = asJson<JsonWebKeySet>(
      await kc.makeApiClient(OpenidApi).getServiceAccountIssuerOpenIDKeyset(),
    );
    rig = await startCloudRig({ oidc: { issuerUrl: discovery.issuer, jwks } });
    dir = mkdtempSync(join(tmpdir(), "acr-p2p-cluster-rrsa-"));
  });

  after(async () => {
    await controller?.stop();
    if (tookOver) {
      // Give the other tests their controller back.
      await startActiveWebhook(webhook);
    }
    if (webhook) await deleteNamespaces(webhook.cluster.kubeConfig, namespaces);
    await rig?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("runs the chart's RRSA controller: exchanges the projected token, resolves the VPC host", async function () {
    needsLocalWebhook(this, webhook);
    const values = {
      ...testValues(`https://127.0.0.1:${webhook.port}/mutate`),
      acrInstances: rig.local.id,
      region: REGION,
      vpcId: VPC_ID,
      rrsa: {
        enable: true,
        rrsaRoleARN: rig.rrsaRole.arn,
        rrsaOIDCProviderRoleARN: rig.provider.arn,
      },
      acrTempCredentials: true,
    };
    const { result, objects } = await renderChart(webhook.cluster, [
      "-f",
      writeValuesFile(dir, values, "rrsa-values.yaml"),
    ]);
    expect(result.code, result.stderr).to.equal(0);

    // The registered webhook URL points at the shared controller's port: this one takes its place.
    tookOver = true;
    await stopWebhookProcess(webhook);
    controller = await spawnControllerProcess(webhook.cluster, {
      port: webhook.port,
      dir,
      rendered: objects,
      defaultPaths: { ALIBABA_CLOUD_OIDC_TOKEN_FILE: DEFAULT_OIDC_TOKEN_FILE },
      extraEnv: {
        ACR_P2P_STS_ENDPOINT: rig.sts.endpoint,
        ACR_P2P_CR_ENDPOINT: rig.cr.endpoint,
        NODE_EXTRA_CA_CERTS: writeCaFile(rig.ca, dir),
      },
      logName: "rrsa-controller.log",
    });
    await waitHealthy(controller, webhook.port, webhook.ca.caPem);

    const ready = await readyz(webhook.port, webhook.ca.caPem);
    expect(ready.status, `${JSON.stringify(ready.body)}\n${controller.logTail()}`).to.equal(200);
    expect(ready.body.detail.registries).to.match(
      new RegExp(`ACR ${rig.local.id}: 2 host\\(s\\) resolved \\d+s ago$`),
    );
    expect(ready.body.detail.tempCredentials).to.contain(`${rig.local.id}: password expires in`);
    const exchange = rig.sts.calls.find((c) => c.action === "AssumeRoleWithOIDC");
    expect(exchange).to.deep.include({
      ok: true,
      subject: `system:serviceaccount:${CHART_NAMESPACE}:${CONTROLLER_SA}`,
    });
    expect(rig.cr.calls.filter((c) => !c.ok)).to.deep.equal([]);
  });

  it("injects a pod using the instance's VPC host, with the temporary credentials secret", async function () {
    needsLocalWebhook(this, webhook);
    expect(controller?.running, "the RRSA controller of the first test runs").to.equal(true);
    const kc = webhook.cluster.kubeConfig;
    const core = kc.makeApiClient(CoreV1Api);
    const ns = await createTestNamespace(kc, "rrsa", { [MODE_LABEL]: "p2p" });
    namespaces.push(ns);
    await waitWebhookActive(webhook, () => "webhook not active");

    const host = vpcDomain(rig.local);
    const pod = await core.createNamespacedPod({
      namespace: ns,
      body: podWithImage("web", `${host}/team/app:1.0`),
    });
    expect(pod.spec?.containers[0]?.image).to.equal(`127.0.0.1:65001/${host}/team/app:1.0`);
    expect(pod.spec?.initContainers?.[0]?.image).to.equal(webhook.sidecarImage);
    expect(pod.spec?.imagePullSecrets).to.deep.equal([{ name: TEMP_SECRET }]);

    // Created by the controller's ServiceAccount before the answer, keyed for the rewritten prefixes.
    const secret = await core.readNamespacedSecret({ name: TEMP_SECRET, namespace: ns });
    expect(secret.type).to.equal("kubernetes.io/dockerconfigjson");
    expect(secret.metadata?.labels?.["app.kubernetes.io/managed-by"]).to.equal("acr-p2p");
    expect(secret.metadata?.managedFields?.[0]?.manager).to.equal("acr-p2p");
    const config = JSON.parse(Buffer.from(secret.data?.[".dockerconfigjson"] ?? "", "base64").toString());
    expect(Object.keys(config.auths).sort()).to.deep.equal(
      [`127.0.0.1:65001/${host}/`, `127.0.0.1:65001/${internetDomain(rig.local)}/`].sort(),
    );
    const login = config.auths[`127.0.0.1:65001/${host}/`];
    expect(rig.cr.checkTempLogin(rig.local.id, login.username, login.password)).to.equal(true);

    const other = await core.createNamespacedPod({
      namespace: ns,
      body: podWithImage("other", "docker.io/library/busybox:1.36"),
    });
    expect(other.spec?.initContainers ?? []).to.deep.equal([]);
    expect(other.spec?.containers[0]?.image).to.equal("docker.io/library/busybox:1.36");
    // Listing the injected pods (namespaces needing the secret) works under the chart's RBAC.
    expect(controller!.logTail(100_000)).not.to.contain("listing injected pods");
  });

  it("a token for another audience is refused by STS", async () => {
    const cluster = webhook.cluster;
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    const other = await core.createNamespacedServiceAccountToken({
      name: CONTROLLER_SA,
      namespace: CHART_NAMESPACE,
      body: { spec: { audiences: ["acr-p2p"], expirationSeconds: 3600 } },
    });
    const tokenFile = join(dir, "token-other");
    writeFileSync(tokenFile, other.status?.token ?? "");
    const { services: refused } = await startInProcess(rig, "rrsa", { tokenFile });
    refused.stop();
    expect(refused.resolver.readiness().ready).to.equal(false);
    expect(rig.sts.calls.at(-1)).to.deep.include({
      ok: false,
      code: "AuthenticationFail.OIDCToken.AudienceNotMatch",
    });
  });
});
