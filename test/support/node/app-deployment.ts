/**
 * A user's Deployment on the node tier's virtual nodes: one hostNetwork pod per node (as an ECI pod has
 * its VM's network), scaled the way `kubectl scale` does, timed until every pod is Running, and what its
 * injected sidecars logged.
 *
 *   appDeployment({name, image, command, pullSecret}) -> V1Deployment       replicas 0
 *   scaleAndWait(cluster, namespace, name, replicas) -> ms                   until all Running
 *   deleteAndWait(cluster, namespace, name)                                  until its pods are gone
 *   loggedPeers(node, namespace, pod) -> addresses | undefined               the sidecar's last peer list
 */
import { AppsV1Api, CoreV1Api, type V1Deployment, type V1Pod } from "@kubernetes/client-node";
import type { TestCluster } from "../cluster.ts";
import { waitUntil } from "../origin/child-process.ts";
import { VIRTUAL_NODE_TAINT, type VirtualNode } from "./virtual-node.ts";

export const SIDECAR_CONTAINER = "acr-p2p-sidecar";

export interface AppDeploymentSpec {
  readonly name: string;
  readonly image: string;
  readonly command: readonly string[];
  readonly pullSecret: string;
}

export function appDeployment(spec: AppDeploymentSpec): V1Deployment {
  const labels = { app: spec.name };
  return {
    metadata: { name: spec.name },
    spec: {
      replicas: 0,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          hostNetwork: true,
          nodeSelector: { type: "virtual-kubelet" },
          tolerations: [{ ...VIRTUAL_NODE_TAINT, operator: "Equal" }],
          // One pod per node: the injected sidecar's ports are the node's (with hostNetwork).
          affinity: {
            podAntiAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: [
                { labelSelector: { matchLabels: labels }, topologyKey: "kubernetes.io/hostname" },
              ],
            },
          },
          imagePullSecrets: [{ name: spec.pullSecret }],
          terminationGracePeriodSeconds: 1,
          containers: [{ name: "app", image: spec.image, command: [...spec.command] }],
        },
      },
    },
  };
}

export function podsOf(cluster: TestCluster, namespace: string, name: string): Promise<V1Pod[]> {
  return cluster.kubeConfig
    .makeApiClient(CoreV1Api)
    .listNamespacedPod({ namespace, labelSelector: `app=${name}` })
    .then((l) => l.items);
}

/** Scales the Deployment as `kubectl scale` does; the milliseconds until `replicas` pods are Running. */
export async function scaleAndWait(
  cluster: TestCluster,
  namespace: string,
  name: string,
  replicas: number,
  timeoutMs = 240_000,
): Promise<number> {
  const started = performance.now();
  await cluster.kubeConfig.makeApiClient(AppsV1Api).patchNamespacedDeploymentScale({
    name,
    namespace,
    body: [{ op: "replace", path: "/spec/replicas", value: replicas }],
  });
  let pods: V1Pod[] = [];
  await waitUntil(
    async () => {
      pods = await podsOf(cluster, namespace, name);
      return (
        pods.length === replicas &&
        pods.every((p) => p.status?.phase === "Running" && p.metadata?.deletionTimestamp === undefined)
      );
    },
    timeoutMs,
    () => `${namespace}/${name} not at ${replicas} Running pods:\n${pods.map(describePod).join("\n")}`,
    250,
  );
  return performance.now() - started;
}

/** Deletes the Deployment and waits until its pods are gone (their containers stopped by the kubelet). */
export async function deleteAndWait(cluster: TestCluster, namespace: string, name: string): Promise<void> {
  await cluster.kubeConfig
    .makeApiClient(AppsV1Api)
    .deleteNamespacedDeployment({ name, namespace, propagationPolicy: "Foreground" });
  await waitUntil(
    async () => (await podsOf(cluster, namespace, name)).length === 0,
    120_000,
    () => `pods of ${namespace}/${name} not gone`,
  );
}

/** The addresses of the sidecar's last "peer list updated" log line, or undefined if it logged none. */
export function loggedPeers(node: VirtualNode, namespace: string, pod: string): string[] | undefined {
  let last: string[] | undefined;
  for (const line of node.containerLog(namespace, pod, SIDECAR_CONTAINER).split("\n")) {
    // CRI log: `<time> <stream> <tag> <message>`.
    const message = line.split(" ").slice(3).join(" ");
    if (!message.includes('"peer list updated"')) continue;
    const entry = JSON.parse(message) as { addresses?: string[] };
    last = entry.addresses;
  }
  return last;
}

export function describePod(pod: V1Pod): string {
  const states = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]
    .map(
      (s) =>
        `${s.name}:${Object.keys(s.state ?? {})[0]}${s.state?.waiting ? `(${s.state.waiting.reason})` : ""}`,
    )
    .join(",");
  return `${pod.metadata?.name}@${pod.spec?.nodeName}: ${pod.status?.phase} ${states}`;
}
