/**
 * The chart installed the way the README says, on the node tier's virtual nodes: the images `npm run
 * images` builds, `helm install --wait` with its hooks (the certgen Job runs as a pod), the controller
 * Deployment's pods on the virtual nodes. What no registry here can do yet, the nodes get by import:
 * both images are in every node's image store, so IfNotPresent finds them by digest.
 *
 *   installChartOnNodes(cluster, nodes, values) -> ChartOnNodes   helm install, hooks run, --wait
 *   chart.importInto(node)                                         both images into a node added later
 *   chart.uninstall()                                              helm uninstall --wait
 */
import { CoreV1Api } from "@kubernetes/client-node";
import { buildImages, type BuiltImage } from "../../../hack/images/build-images.ts";
import type { TestCluster } from "../cluster.ts";
import { CHART_DIR, CHART_NAMESPACE, RELEASE, helm, writeValuesFile } from "../cluster-chart.ts";
import { makeTempDir, runCommand } from "../origin/child-process.ts";
import { VIRTUAL_NODE_TAINT, type VirtualNode } from "./virtual-node.ts";

/** Image names in the nodes' stores (`npm run images -- --push` would put them under a registry). */
export const CONTROLLER_IMAGE = "acr-p2p.test/controller";
export const SIDECAR_IMAGE = "acr-p2p.test/sidecar";
/** The controller Deployment's pods (the chart's component label). */
export const CONTROLLER_PODS = "app.kubernetes.io/component=controller";

export interface ChartOnNodes {
  readonly controller: BuiltImage;
  readonly sidecar: BuiltImage;
  /** The values helm installed with (what a user passes with -f). */
  readonly values: Record<string, unknown>;
  /** Puts both images into a node started after the install (as the others got them). */
  importInto(node: VirtualNode): Promise<void>;
  uninstall(): Promise<void>;
}

/**
 * Builds both images (offline: from the caches CI fills), imports them into every node, and installs
 * the chart with `values` over the ones every install here needs: the images by digest and, as on a
 * cluster of virtual nodes only, the virtual nodes' toleration for the controller and certgen pods.
 * A release left by another test (the controller run as a local process) is uninstalled first.
 */
export async function installChartOnNodes(
  cluster: TestCluster,
  nodes: readonly VirtualNode[],
  values: Record<string, unknown> = {},
): Promise<ChartOnNodes> {
  const dir = makeTempDir("chart-on-nodes");
  const images = await buildImages({ out: dir, offline: true });
  const controller = images.find((i) => i.name === "controller")!;
  const sidecar = images.find((i) => i.name === "sidecar")!;
  const importInto = async (node: VirtualNode) => {
    await node.importImage(controller.dir, CONTROLLER_IMAGE);
    await node.importImage(sidecar.dir, SIDECAR_IMAGE);
  };
  for (const node of nodes) await importInto(node);
  const given = values as { controller?: object; sidecar?: object };
  const all: Record<string, unknown> = {
    ...values,
    controller: {
      image: { repository: CONTROLLER_IMAGE, digest: controller.manifest.digest },
      nodeSelector: { type: "virtual-kubelet" },
      tolerations: [{ ...VIRTUAL_NODE_TAINT, operator: "Equal" }],
      ...given.controller,
    },
    sidecar: { image: { repository: SIDECAR_IMAGE, digest: sidecar.manifest.digest }, ...given.sidecar },
  };
  // A release the cluster tier installed (hooks off, placeholder images no node can pull): its
  // pre-delete cleanup Job could never run, so it goes without hooks, as the README says for that case.
  await helm(cluster, ["uninstall", RELEASE, "-n", CHART_NAMESPACE, "--wait", "--no-hooks"]);
  const r = await helm(
    cluster,
    [
      "install",
      RELEASE,
      CHART_DIR,
      "-n",
      CHART_NAMESPACE,
      "--create-namespace",
      "--wait",
      "--timeout",
      "2m",
      "-f",
      writeValuesFile(dir, all),
    ],
    300_000,
  );
  if (r.code !== 0) {
    throw new Error(
      `helm install failed:\n${r.stdout}\n${r.stderr}\n${await controllerState(cluster, nodes)}`,
    );
  }
  return {
    controller,
    sidecar,
    values: all,
    importInto,
    async uninstall() {
      const u = await helm(cluster, ["uninstall", RELEASE, "-n", CHART_NAMESPACE, "--wait"], 120_000);
      if (u.code !== 0) throw new Error(`helm uninstall failed:\n${u.stdout}\n${u.stderr}`);
    },
  };
}

/** What a failed install leaves to read: the chart's pods and Jobs, and each controller's log tail. */
async function controllerState(cluster: TestCluster, nodes: readonly VirtualNode[]): Promise<string> {
  const listing = await runCommand(
    cluster.kubectl,
    ["--kubeconfig", cluster.kubeconfigPath, "-n", CHART_NAMESPACE, "get", "pods,jobs", "-o", "wide"],
    { timeoutMs: 10_000 },
  );
  const pods = await cluster.kubeConfig.makeApiClient(CoreV1Api).listNamespacedPod({
    namespace: CHART_NAMESPACE,
    labelSelector: CONTROLLER_PODS,
  });
  // The kubelets here serve no logs to the API server: read them on the node.
  const logs = pods.items.map((pod) => {
    const node = nodes.find((n) => n.name === pod.spec?.nodeName);
    const log = node?.containerLog(CHART_NAMESPACE, pod.metadata!.name!, "controller") ?? "";
    return `${pod.metadata?.name} on ${pod.spec?.nodeName}:\n${log.slice(-3000)}`;
  });
  return [listing.stdout + listing.stderr, ...logs].join("\n");
}
