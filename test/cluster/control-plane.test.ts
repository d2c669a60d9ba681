/**
 * The control plane the cluster tier runs against (hack/cluster): a real kube-apiserver on etcd, with
 * the admission plugins the webhook's contract depends on switched on as in real clusters.
 */
import { expect } from "chai";
import { CoreV1Api, VersionApi } from "@kubernetes/client-node";
import { testCluster, type TestCluster } from "../support/cluster.ts";
import { createTestNamespace, deleteNamespaces } from "../support/cluster-objects.ts";
import { runCommand } from "../support/origin/child-process.ts";

describe("cluster: control plane", function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let core: CoreV1Api;
  const namespaces: string[] = [];

  before(async function () {
    cluster = await testCluster();
    core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  });
  after(() => deleteNamespaces(cluster.kubeConfig, namespaces));

  it("serves Kubernetes 1.34 and kubectl talks to it", async function () {
    const version = await cluster.kubeConfig.makeApiClient(VersionApi).getCode();
    if (!cluster.external) expect(version.gitVersion).to.match(/^v1\.34\.\d+$/);
    const r = await runCommand(cluster.kubectl, [
      "--kubeconfig",
      cluster.kubeconfigPath,
      "get",
      "ns",
      "kube-system",
      "-o",
      "name",
    ]);
    expect(r.stdout.trim(), r.stderr).to.equal("namespace/kube-system");
  });

  it("runs the ServiceAccount admission plugin: the pod's ServiceAccount must exist", async function () {
    const ns = await createTestNamespace(cluster.kubeConfig, "cp");
    namespaces.push(ns);
    const body = {
      metadata: { name: "no-sa" },
      spec: { serviceAccountName: "missing", containers: [{ name: "app", image: "example.com/app:1" }] },
    };
    const err = await core.createNamespacedPod({ namespace: ns, body }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err, "pod with a missing ServiceAccount was admitted").to.not.equal(undefined);
    expect(String((err as { body?: unknown }).body)).to.match(/service ?account/i);
  });

  it("copies the ServiceAccount's imagePullSecrets into a pod that lists none", async function () {
    const ns = await createTestNamespace(cluster.kubeConfig, "cp");
    namespaces.push(ns);
    await core.createNamespacedServiceAccount({
      namespace: ns,
      body: { metadata: { name: "puller" }, imagePullSecrets: [{ name: "sa-pull-secret" }] },
    });
    const pod = await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: "p" },
        spec: { serviceAccountName: "puller", containers: [{ name: "app", image: "example.com/app:1" }] },
      },
    });
    expect(pod.spec?.imagePullSecrets).to.deep.equal([{ name: "sa-pull-secret" }]);
    // The bound token volume needs no token controller.
    expect(pod.spec?.volumes?.some((v) => v.projected?.sources?.some((s) => s.serviceAccountToken))).to.equal(
      true,
    );
  });
});
