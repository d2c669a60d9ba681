/**
 * The chart installed the way the README says, on the node tier's virtual nodes: `npm run images --
 * --push REGISTRY/acr-p2p` to a registry the nodes reach (plain HTTP on the host's loopback, forwarded
 * into every node), then `helm install --wait` with the `--set` flags it printed. The certgen hook runs
 * as a pod, the controller Deployment's pods run on the virtual nodes, and every node's containerd
 * pulls both images from that registry as a user's nodes would.
 *
 *   startImageRegistry() -> OriginRegistry                             where the images are pushed
 *   installChartOnNodes(cluster, nodes, registry, values) -> ChartOnNodes   push, helm install --wait
 *   chart.uninstall()                                                  helm uninstall --wait
 */
import { CoreV1Api } from "@kubernetes/client-node";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestCluster } from "../cluster.ts";
import { CHART_DIR, CHART_NAMESPACE, RELEASE, helm, writeValuesFile } from "../cluster-chart.ts";
import { makeTempDir, runCommand } from "../origin/child-process.ts";
import { startRegistry, type OriginRegistry } from "../origin/registry.ts";
import { VIRTUAL_NODE_TAINT, type VirtualNode } from "./virtual-node.ts";

/** The controller Deployment's pods (the chart's component label). */
export const CONTROLLER_PODS = "app.kubernetes.io/component=controller";
/** The repository prefix the images are pushed under (the README's REGISTRY/acr-p2p). */
const PREFIX = "acr-p2p";
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../../..");

export interface ChartOnNodes {
  /** The image references the chart runs: `REGISTRY/acr-p2p/{controller,sidecar}@sha256:...`. */
  readonly images: { readonly controller: string; readonly sidecar: string };
  uninstall(): Promise<void>;
}

/**
 * A registry for the product's images: no authentication (a public repository), plain HTTP. Its port
 * goes into every node's forwardPorts, so containerd there pulls from the same 127.0.0.1 address.
 */
export function startImageRegistry(): Promise<OriginRegistry> {
  return startRegistry({ auth: { kind: "none" } });
}

/**
 * Builds both images (offline: from the caches CI fills) and pushes them to `registry` with `npm run
 * images`, then installs the chart with the flags it printed and `values` over the ones every install
 * here needs: as on a cluster of virtual nodes only, the virtual nodes' toleration for the controller
 * and certgen pods. A release left by another test (the controller run as a local process) is
 * uninstalled first.
 */
export async function installChartOnNodes(
  cluster: TestCluster,
  nodes: readonly VirtualNode[],
  registry: OriginRegistry,
  values: Record<string, unknown> = {},
): Promise<ChartOnNodes> {
  const dir = makeTempDir("chart-on-nodes");
  const pushed = await pushImages(dir, `${registry.host}/${PREFIX}`);
  const given = values as { controller?: object };
  const all: Record<string, unknown> = {
    ...values,
    controller: {
      nodeSelector: { type: "virtual-kubelet" },
      tolerations: [{ ...VIRTUAL_NODE_TAINT, operator: "Equal" }],
      ...given.controller,
    },
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
      ...pushed.helmFlags,
    ],
    300_000,
  );
  if (r.code !== 0) {
    throw new Error(
      `helm install failed:\n${r.stdout}\n${r.stderr}\n${await controllerState(cluster, nodes)}`,
    );
  }
  return {
    images: pushed.images,
    async uninstall() {
      const u = await helm(cluster, ["uninstall", RELEASE, "-n", CHART_NAMESPACE, "--wait"], 120_000);
      if (u.code !== 0) throw new Error(`helm uninstall failed:\n${u.stdout}\n${u.stderr}`);
    },
  };
}

interface PushedImages {
  /** The `--set` flags `npm run images` printed, split into arguments as a shell would. */
  readonly helmFlags: readonly string[];
  readonly images: ChartOnNodes["images"];
}

/** `npm run images -- --push PREFIX --push-insecure`, as the README says; reads the flags it prints. */
async function pushImages(dir: string, prefix: string): Promise<PushedImages> {
  // No credentials from the host's own files: the registry needs none.
  const authFile = join(dir, "auth.json");
  writeFileSync(authFile, JSON.stringify({ auths: {} }));
  const run = await runCommand(
    "npm",
    [
      "--prefix",
      ROOT,
      "run",
      "--silent",
      "images",
      "--",
      "--offline",
      "--out",
      join(dir, "images"),
      "--push",
      prefix,
      "--push-insecure",
    ],
    { env: { ...process.env, REGISTRY_AUTH_FILE: authFile }, timeoutMs: 300_000 },
  );
  if (run.code !== 0) throw new Error(`npm run images --push failed:\n${run.stdout}\n${run.stderr}`);
  const flagLines = run.stdout.split("\n").filter((line) => line.trim().startsWith("--set "));
  const helmFlags = flagLines.flatMap((line) => line.trim().split(/\s+/));
  const setting = (key: string) => {
    const flag = helmFlags.find((f) => f.startsWith(`${key}=`));
    if (!flag) throw new Error(`npm run images printed no --set ${key}:\n${run.stdout}`);
    return flag.slice(key.length + 1);
  };
  const ref = (name: string) => `${setting(`${name}.image.repository`)}@${setting(`${name}.image.digest`)}`;
  return { helmFlags, images: { controller: ref("controller"), sidecar: ref("sidecar") } };
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
