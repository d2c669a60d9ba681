/**
 * The node tier as a small cluster: kube-controller-manager and kube-scheduler beside the API server,
 * six virtual nodes in two zones (three each), and a Deployment scheduled across them, one pod per
 * node (the pods use the node's network and so each needs the sidecar's port to itself).
 */
import { expect } from "chai";
import { AppsV1Api, CoreV1Api } from "@kubernetes/client-node";
import { testCluster, type TestCluster } from "../support/cluster.ts";
import { createNodeNetwork, type NodeNetwork } from "../support/node/node-network.ts";
import { createNodeNamespace } from "../support/node/node-pods.ts";
import { startVirtualNode, VIRTUAL_NODE_TAINT, type VirtualNode } from "../support/node/virtual-node.ts";
import { waitUntil } from "../support/origin/child-process.ts";

const ZONES = ["zone-a", "zone-a", "zone-a", "zone-b", "zone-b", "zone-b"];

describe("node tier: six virtual nodes in two zones", function () {
  let cluster: TestCluster;
  let network: NodeNetwork;
  const nodes: VirtualNode[] = [];

  before(async function () {
    cluster = await testCluster({ controllers: true });
    network = createNodeNetwork();
    for (const [i, zone] of ZONES.entries())
      nodes.push(await startVirtualNode(cluster, network, { index: i + 1, zone }));
  });
  after(async function () {
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
});
