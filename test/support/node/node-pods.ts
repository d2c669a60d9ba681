/**
 * What the node tier needs around pods: a namespace whose `default` ServiceAccount and
 * `kube-root-ca.crt` ConfigMap (what the token volume mounts) the controller-manager has made, and
 * waiting for a pod's phase.
 */
import { CoreV1Api, type KubeConfig, type V1Pod } from "@kubernetes/client-node";
import type { TestCluster } from "../cluster.ts";
import { createTestNamespace } from "../cluster-objects.ts";
import { waitUntil } from "../origin/child-process.ts";

export async function createNodeNamespace(
  cluster: TestCluster,
  prefix: string,
  labels: Record<string, string> = {},
): Promise<string> {
  const name = await createTestNamespace(cluster.kubeConfig, prefix, labels);
  const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  await waitUntil(
    async () => {
      try {
        await core.readNamespacedConfigMap({ namespace: name, name: "kube-root-ca.crt" });
        return true;
      } catch {
        return false;
      }
    },
    20_000,
    () => `the controller-manager made no kube-root-ca.crt in ${name}`,
  );
  return name;
}

/** Polls the pod until `done` says so; the error names the pod's phase and container states. */
export async function waitForPod(
  kc: KubeConfig,
  namespace: string,
  name: string,
  done: (pod: V1Pod) => boolean,
  timeoutMs = 120_000,
): Promise<V1Pod> {
  const core = kc.makeApiClient(CoreV1Api);
  let last: V1Pod | undefined;
  await waitUntil(
    async () => {
      last = await core.readNamespacedPod({ name, namespace });
      return done(last);
    },
    timeoutMs,
    () => `pod ${namespace}/${name}: ${JSON.stringify(last?.status, null, 1)?.slice(0, 3000)}`,
    250,
  );
  return last!;
}
