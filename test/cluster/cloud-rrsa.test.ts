/**
 * RRSA against a real kube-apiserver: the controller's ServiceAccount token comes from the API
 * server's TokenRequest (audience sts.aliyuncs.com), and the STS emulator verifies it against the API
 * server's own issuer and JWKS (served at /.well-known/openid-configuration and /openid/v1/jwks), as
 * RAM does with an ACK cluster's OIDC provider. The resolved VPC host then drives an admission: a pod
 * using that host is injected by the controller (run in-process here with the ACR resolver; the chart
 * path, where the Deployment's process starts the cloud layer itself, is not wired yet).
 */
import { request } from "node:https";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { CoreV1Api, OpenidApi, WellKnownApi } from "@kubernetes/client-node";
import { silentLogger } from "../../lib/logger.ts";
import { parseWebhookArgs } from "../../webhook/config/webhook-config.ts";
import { startController, type RunningController } from "../../webhook/server/controller.ts";
import { CHART_NAMESPACE, CONTROLLER_SA, SIDECAR_IMAGE } from "../support/cluster-chart.ts";
import { createTestNamespace, deleteNamespaces, MODE_LABEL } from "../support/cluster-objects.ts";
import type { TestCluster } from "../support/cluster.ts";
import { chartInstall } from "../support/cluster-webhook.ts";
import { startCloudRig, type CloudRig } from "../support/cloud/cloud-rig.ts";
import { vpcDomain } from "../support/cloud/cr-emulator.ts";
import { startInProcess } from "../support/cloud/in-process.ts";
import type { JsonWebKeySet } from "../support/cloud/oidc-issuer.ts";
import { freePort } from "../support/origin/child-process.ts";
import type { CloudServices } from "../../webhook/cloud/cloud-services.ts";

interface MutateAnswer {
  response: { allowed: boolean; patch?: string };
}

function postReview(url: string, caPem: string, body: unknown): Promise<MutateAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/mutate`,
      { method: "POST", ca: caPem, headers: { "content-type": "application/json" } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")) as MutateAnswer));
      },
    );
    req.once("error", reject);
    req.end(JSON.stringify(body));
  });
}

/** The generated client types these documents as strings but hands back parsed JSON. */
function asJson<T>(value: unknown): T {
  return (typeof value === "string" ? JSON.parse(value) : value) as T;
}

function podReview(namespace: string, image: string): Record<string, unknown> {
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: "0f2c6a4e-1111-4c4c-9f9f-000000000001",
      kind: { group: "", version: "v1", kind: "Pod" },
      resource: { group: "", version: "v1", resource: "pods" },
      namespace,
      operation: "CREATE",
      userInfo: { username: "system:serviceaccount:kube-system:replicaset-controller" },
      object: {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "web", namespace },
        spec: { containers: [{ name: "web", image }] },
      },
      dryRun: false,
    },
  };
}

describe("cluster: RRSA with a TokenRequest token verified against the API server's JWKS", function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let rig: CloudRig;
  let dir: string;
  let services: CloudServices | undefined;
  let controller: RunningController | undefined;
  const namespaces: string[] = [];

  before(async () => {
    // The chart (installed once per run) creates the controller's namespace and ServiceAccount.
    cluster = (await chartInstall()).cluster;
    const kc = cluster.kubeConfig;
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
    services?.stop();
    await controller?.close();
    await deleteNamespaces(cluster.kubeConfig, namespaces);
    await rig?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("exchanges the controller ServiceAccount's token and resolves the instance's VPC host", async () => {
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    const tokenRequest = await core.createNamespacedServiceAccountToken({
      name: CONTROLLER_SA,
      namespace: CHART_NAMESPACE,
      body: { spec: { audiences: ["sts.aliyuncs.com"], expirationSeconds: 3600 } },
    });
    const tokenFile = join(dir, "token");
    writeFileSync(tokenFile, tokenRequest.status?.token ?? "");

    ({ services } = await startInProcess(rig, "rrsa", { tokenFile }));
    expect(services.resolver.readiness().ready, services.resolver.readiness().detail).to.equal(true);
    expect(services.resolver.acceleratedHosts().has(vpcDomain(rig.local))).to.equal(true);
    expect(rig.sts.calls.at(-1)).to.deep.include({
      action: "AssumeRoleWithOIDC",
      ok: true,
      subject: `system:serviceaccount:${CHART_NAMESPACE}:${CONTROLLER_SA}`,
    });
  });

  it("a token for another audience is refused by STS", async () => {
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

  it("injects a pod whose image is on the resolved VPC host, and leaves other hosts alone", async () => {
    expect(services, "the first test resolved the hosts").not.to.equal(undefined);
    const port = await freePort();
    const parsed = parseWebhookArgs(
      [
        "--sidecar-image",
        SIDECAR_IMAGE,
        "--listen",
        `127.0.0.1:${port}`,
        "--kubeconfig",
        cluster.kubeconfigPath,
        "--serverless",
        "true",
      ],
      {},
    );
    controller = await startController(parsed.config!, {
      logger: silentLogger(),
      resolver: services!.resolver,
    });
    const ns = await createTestNamespace(cluster.kubeConfig, "rrsa", { [MODE_LABEL]: "p2p" });
    namespaces.push(ns);
    const host = vpcDomain(rig.local);
    const injected = await postReview(
      controller.url,
      controller.tls.caPem!,
      podReview(ns, `${host}/team/app:1.0`),
    );
    expect(injected.response.allowed).to.equal(true);
    const patch = Buffer.from(injected.response.patch ?? "", "base64").toString("utf8");
    expect(patch).to.contain(`127.0.0.1:65001/${host}/team/app:1.0`);
    const untouched = await postReview(
      controller.url,
      controller.tls.caPem!,
      podReview(ns, "docker.io/library/busybox:1.36"),
    );
    expect(untouched.response.allowed).to.equal(true);
    expect(untouched.response.patch).to.equal(undefined);
  });
});
