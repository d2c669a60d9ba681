/**
 * The node tier as a small cluster: kube-controller-manager and kube-scheduler beside the API server,
 * six virtual nodes in two zones (three each), and a Deployment scheduled across them, one pod per
 * node (the pods use the node's network and so each needs the sidecar's port to itself). On it, the
 * user's path: the chart installed as the README says, its controller running as pods on the virtual
 * nodes, and the API server calling the webhook through the chart's Service.
 */
import { expect } from "chai";
import { AdmissionregistrationV1Api, AppsV1Api, CoreV1Api, type V1Pod } from "@kubernetes/client-node";
import { CHART_NAMESPACE, RELEASE, TLS_SECRET, WEBHOOK_CONFIG_NAME } from "../support/cluster-chart.ts";
import { MODE_LABEL } from "../support/cluster-objects.ts";
import {
  CONTROLLER_IMAGE,
  CONTROLLER_PODS,
  installChartOnNodes,
  SIDECAR_IMAGE,
  type ChartOnNodes,
} from "../support/node/chart-on-nodes.ts";
import { testCluster, type TestCluster } from "../support/cluster.ts";
import { createNodeNetwork, type NodeNetwork } from "../support/node/node-network.ts";
import { createNodeNamespace } from "../support/node/node-pods.ts";
import { startVirtualNode, VIRTUAL_NODE_TAINT, type VirtualNode } from "../support/node/virtual-node.ts";
import { runCommand, waitUntil } from "../support/origin/child-process.ts";
import { MANAGED_SECRETS_SELECTOR } from "../../webhook/cleanup/run-cleanup.ts";

/** An image of an accelerated registry (the webhook rewrites it; nothing pulls it in these tests). */
const APP_IMAGE = "registry.test.local:5000/team-a/app:v1";
const ZONES = ["zone-a", "zone-a", "zone-a", "zone-b", "zone-b", "zone-b"];

describe("node tier: six virtual nodes in two zones", function () {
  let cluster: TestCluster;
  let network: NodeNetwork;
  let chart: ChartOnNodes | undefined;
  let userNamespace: string;
  const nodes: VirtualNode[] = [];

  before(async function () {
    cluster = await testCluster({ controllers: true });
    network = createNodeNetwork();
    for (const [i, zone] of ZONES.entries())
      nodes.push(await startVirtualNode(cluster, network, { index: i + 1, zone }));
  });
  after(async function () {
    await chart?.uninstall();
    for (const node of nodes.splice(0).reverse()) await node.stop();
    network?.remove();
  });

  it("a Deployment of 6 hostNetwork pods is scheduled one per node, 3 per zone, all Running", async () => {
    const namespace = await createNodeNamespace(cluster, "node-six");
    const apps = cluster.kubeConfig.makeApiClient(AppsV1Api);
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: "web" },
        spec: {
          replicas: 6,
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" } },
            spec: {
              hostNetwork: true,
              nodeSelector: { type: "virtual-kubelet" },
              tolerations: [{ ...VIRTUAL_NODE_TAINT, operator: "Equal" }],
              terminationGracePeriodSeconds: 1,
              containers: [
                {
                  name: "pause",
                  image: "acr-p2p.test/pause:1",
                  imagePullPolicy: "Never",
                  // With the node's network, a declared port is the node's: one such pod per node.
                  ports: [{ containerPort: 65001 }],
                },
              ],
            },
          },
        },
      },
    });
    let pods = await core.listNamespacedPod({ namespace });
    await waitUntil(
      async () => {
        pods = await core.listNamespacedPod({ namespace });
        return pods.items.length === 6 && pods.items.every((p) => p.status?.phase === "Running");
      },
      120_000,
      () =>
        `not all Running: ${pods.items.map((p) => `${p.metadata?.name}@${p.spec?.nodeName}:${p.status?.phase}`).join(" ")}`,
    );
    const byNode = pods.items.map((p) => p.spec?.nodeName);
    expect(new Set(byNode).size, "one pod per node").to.equal(6);
    const zoneOf = new Map(nodes.map((n, i) => [n.name, ZONES[i]]));
    const perZone = byNode.reduce<Record<string, number>>(
      (acc, n) => ({ ...acc, [zoneOf.get(n!)!]: (acc[zoneOf.get(n!)!] ?? 0) + 1 }),
      {},
    );
    expect(perZone).to.deep.equal({ "zone-a": 3, "zone-b": 3 });
    for (const pod of pods.items) {
      const node = nodes.find((n) => n.name === pod.spec?.nodeName)!;
      expect(pod.status?.podIP, pod.metadata?.name).to.equal(node.ip);
    }
  });

  it("helm install as the README says: certgen runs as a Job, the controller as 2 pods on virtual nodes, and the API server calls the webhook through its Service", async () => {
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    chart = await installChartOnNodes(cluster, nodes, {
      serverless: true,
      registries: [APP_IMAGE.split("/")[0]!],
    });
    // --wait returned: the Deployment is ready and the post-install certgen Job succeeded (and was
    // deleted, as its hook policy says), leaving the serving certificate and the webhook's caBundle.
    const secret = await core.readNamespacedSecret({ name: TLS_SECRET, namespace: CHART_NAMESPACE });
    expect(Object.keys(secret.data ?? {})).to.include.members(["tls.crt", "tls.key", "ca.crt"]);
    const controllers = (
      await core.listNamespacedPod({
        namespace: CHART_NAMESPACE,
        labelSelector: CONTROLLER_PODS,
      })
    ).items;
    expect(controllers).to.have.length(2);
    const nodeOf = (pod: V1Pod) => nodes.find((n) => n.name === pod.spec?.nodeName);
    for (const pod of controllers) {
      expect(pod.status?.phase, pod.metadata?.name).to.equal("Running");
      expect(pod.spec?.containers[0]?.image).to.equal(
        `${CONTROLLER_IMAGE}@${chart.controller.manifest.digest}`,
      );
      // A pod of its own network: an address of its node's pod subnet, not the node's.
      expect(nodeOf(pod), `${pod.metadata?.name} on ${pod.spec?.nodeName}`).to.not.equal(undefined);
      expect(
        inSubnet(pod.status!.podIP!, nodeOf(pod)!.podSubnet),
        `${pod.status?.podIP} in ${nodeOf(pod)!.podSubnet}`,
      ).to.equal(true);
    }
    const config = await cluster.kubeConfig
      .makeApiClient(AdmissionregistrationV1Api)
      .readMutatingWebhookConfiguration({ name: WEBHOOK_CONFIG_NAME });
    expect(config.webhooks?.[0]?.clientConfig.url).to.equal(undefined);
    expect(config.webhooks?.[0]?.clientConfig.service?.name).to.equal(RELEASE);
    expect(config.webhooks?.[0]?.clientConfig.caBundle).to.equal(secret.data!["ca.crt"]);

    // A pod created in a labelled namespace comes back injected. The webhook fails open, so this
    // waits until the controller pods have the certificate certgen wrote (the kubelet fills the
    // optional Secret volume in).
    userNamespace = await createNodeNamespace(cluster, "user-path", { [MODE_LABEL]: "p2p" });
    let injected: V1Pod | undefined;
    await waitUntil(
      async () => {
        injected = await createAppPod();
        return (injected.spec?.initContainers ?? []).length > 0;
      },
      120_000,
      () => `not injected: ${JSON.stringify(injected?.metadata?.annotations)}`,
    );
    expect(injected!.spec!.initContainers![0]!.image).to.equal(
      `${SIDECAR_IMAGE}@${chart.sidecar.manifest.digest}`,
    );
    expect(injected!.spec!.containers[0]!.image).to.match(/^127\.0\.0\.1:65001\//);
  });

  it("the webhook down (controller scaled to 0): pods are created unmodified, and injected again once it is back", async () => {
    const apps = cluster.kubeConfig.makeApiClient(AppsV1Api);
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    const scale = async (replicas: number) => {
      await apps.patchNamespacedDeploymentScale({
        name: RELEASE,
        namespace: CHART_NAMESPACE,
        body: [{ op: "replace", path: "/spec/replicas", value: replicas }],
      });
      await waitUntil(
        async () => {
          const d = await apps.readNamespacedDeployment({ name: RELEASE, namespace: CHART_NAMESPACE });
          const pods = await core.listNamespacedPod({
            namespace: CHART_NAMESPACE,
            labelSelector: CONTROLLER_PODS,
          });
          return pods.items.length === replicas && (d.status?.readyReplicas ?? 0) === replicas;
        },
        120_000,
        () => `controller not at ${replicas} ready replicas`,
      );
    };
    await scale(0);
    // failurePolicy Ignore: the API server finds no endpoint, and creates the pod as it was asked.
    const unmodified = await createAppPod();
    expect(unmodified.spec?.initContainers ?? []).to.deep.equal([]);
    expect(unmodified.spec?.containers[0]?.image).to.equal(APP_IMAGE);
    await scale(2);
    await waitUntil(
      async () => ((await createAppPod()).spec?.initContainers ?? []).length > 0,
      60_000,
      () => "not injected after the controller came back",
    );
  });

  it("helm uninstall: nothing with the release's labels stays, nor any Secret acr-p2p made; the webhook configuration is gone, and pods are no longer injected", async () => {
    // What the controller makes at run time: a pod with a pull secret for an accelerated registry gets
    // a derived pull secret (the pod never runs: no node matches it).
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    const auth = Buffer.from("user:password").toString("base64");
    const dockerConfig = { auths: { [APP_IMAGE.split("/")[0]!]: { auth } } };
    await core.createNamespacedSecret({
      namespace: userNamespace,
      body: {
        metadata: { name: "app-pull" },
        type: "kubernetes.io/dockerconfigjson",
        data: { ".dockerconfigjson": Buffer.from(JSON.stringify(dockerConfig)).toString("base64") },
      },
    });
    const pod = await core.createNamespacedPod({
      namespace: userNamespace,
      body: {
        metadata: { generateName: "app-" },
        spec: {
          nodeSelector: { "acr-p2p.test/no-such-node": "true" },
          imagePullSecrets: [{ name: "app-pull" }],
          containers: [{ name: "app", image: APP_IMAGE }],
        },
      },
    });
    const derived = pod.spec?.imagePullSecrets?.map((r) => r.name).filter((n) => n !== "app-pull") ?? [];
    expect(derived, "derived pull secrets of the injected pod").to.have.length.greaterThan(0);
    expect(await managedSecrets(), "Secrets acr-p2p made before uninstall").to.include.members([
      `${CHART_NAMESPACE}/${TLS_SECRET}`,
      ...derived.map((n) => `${userNamespace}/${n}`),
    ]);

    await chart!.uninstall();
    chart = undefined;
    // The pre-delete hook deleted them; the user's own Secret stays.
    expect(await managedSecrets(), "Secrets acr-p2p made, after uninstall").to.deep.equal([]);
    await core.readNamespacedSecret({ name: "app-pull", namespace: userNamespace });
    const kinds = [
      "all",
      "configmaps",
      "secrets",
      "serviceaccounts",
      "roles",
      "rolebindings",
      "jobs",
      "cronjobs",
      "poddisruptionbudgets",
      "clusterroles",
      "clusterrolebindings",
      "mutatingwebhookconfigurations",
    ];
    let left = "";
    await waitUntil(
      async () => {
        const r = await runCommand(
          cluster.kubectl,
          [
            "--kubeconfig",
            cluster.kubeconfigPath,
            "get",
            kinds.join(","),
            "-A",
            "-o",
            "name",
            "-l",
            `app.kubernetes.io/instance=${RELEASE}`,
          ],
          { timeoutMs: 20_000 },
        );
        left = r.stdout.trim() + r.stderr.trim();
        return r.code === 0 && left === "";
      },
      60_000,
      () => `left after helm uninstall: ${left}`,
    );
    const configs = await cluster.kubeConfig
      .makeApiClient(AdmissionregistrationV1Api)
      .listMutatingWebhookConfiguration();
    expect(configs.items.map((c) => c.metadata?.name)).to.not.include(WEBHOOK_CONFIG_NAME);
    const after = await createAppPod();
    expect(after.spec?.initContainers ?? []).to.deep.equal([]);
    expect(after.spec?.containers[0]?.image).to.equal(APP_IMAGE);
  });

  /** `namespace/name` of every Secret labelled as made by acr-p2p, in any namespace. */
  async function managedSecrets(): Promise<string[]> {
    const list = await cluster.kubeConfig
      .makeApiClient(CoreV1Api)
      .listSecretForAllNamespaces({ labelSelector: MANAGED_SECRETS_SELECTOR });
    return list.items.map((s) => `${s.metadata?.namespace}/${s.metadata?.name}`);
  }

  /** An app pod as a Deployment would create it in the labelled namespace (dry run: nothing runs). */
  function createAppPod(): Promise<V1Pod> {
    return cluster.kubeConfig.makeApiClient(CoreV1Api).createNamespacedPod({
      namespace: userNamespace,
      dryRun: "All",
      body: {
        metadata: { generateName: "app-" },
        spec: { nodeSelector: { type: "virtual-kubelet" }, containers: [{ name: "app", image: APP_IMAGE }] },
      },
    });
  }
});

/** Whether IPv4 address `ip` is in `cidr`. */
function inSubnet(ip: string, cidr: string): boolean {
  const toNumber = (a: string) => a.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
  const [base, bits] = cidr.split("/");
  const size = 2 ** (32 - Number(bits));
  return Math.floor(toNumber(ip) / size) === Math.floor(toNumber(base!) / size);
}
