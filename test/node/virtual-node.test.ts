/**
 * The node tier's virtual node on its own: containerd and a real kubelet in a network namespace and a
 * private mount namespace, registered as a virtual node of a zone, running a hostNetwork pod.
 */
import { expect } from "chai";
import { CoreV1Api, type V1Node } from "@kubernetes/client-node";
import { testCluster, type TestCluster } from "../support/cluster.ts";
import { createNodeNetwork, type NodeNetwork } from "../support/node/node-network.ts";
import { createNodeNamespace, waitForPod } from "../support/node/node-pods.ts";
import { startVirtualNode, VIRTUAL_NODE_TAINT, type VirtualNode } from "../support/node/virtual-node.ts";

describe("node tier: one virtual node", function () {
  let cluster: TestCluster;
  let network: NodeNetwork;
  let node: VirtualNode;

  before(async function () {
    cluster = await testCluster({ controllers: true });
    network = createNodeNetwork();
    node = await startVirtualNode(cluster, network, { index: 1, zone: "zone-a" });
  });
  after(async function () {
    await node?.stop();
    network?.remove();
  });

  it("registers Ready as a virtual node of its zone, at its address on the node network", async () => {
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    const registered: V1Node = await core.readNode({ name: node.name });
    expect(registered.metadata?.labels).to.include({
      type: "virtual-kubelet",
      "topology.kubernetes.io/zone": "zone-a",
    });
    expect(registered.status?.addresses).to.deep.include({ type: "InternalIP", address: node.ip });
    expect(registered.spec?.taints).to.deep.equal([VIRTUAL_NODE_TAINT]);
  });

  it("runs a plain hostNetwork pod bound to it", async () => {
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    const namespace = await createNodeNamespace(cluster, "node-plain");
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: "plain" },
        spec: {
          nodeName: node.name,
          hostNetwork: true,
          containers: [{ name: "pause", image: "acr-p2p.test/pause:1", imagePullPolicy: "Never" }],
        },
      },
    });
    const pod = await waitForPod(
      cluster.kubeConfig,
      namespace,
      "plain",
      (p) => p.status?.phase === "Running",
    );
    expect(pod.status?.podIP).to.equal(node.ip);
  });
});
