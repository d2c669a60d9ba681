/**
 * Small object helpers for the cluster tier, playing the controllers this control plane does not run
 * (no controller-manager, no kubelet):
 *
 *   createTestNamespace(kc, prefix, labels) -> name     namespace + its "default" ServiceAccount
 *   serviceAccountKubeconfig(cluster, ns, sa, dir)      a kubeconfig acting as that ServiceAccount
 *   setQuotaStatus(kc, ns, name)                        what the quota controller would write
 *   deleteNamespaces(kc, names)                         best-effort cleanup
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CoreV1Api, type KubeConfig, type V1Pod, type V1ResourceQuota } from "@kubernetes/client-node";
import type { TestCluster } from "./cluster.ts";

export const MODE_LABEL = "k8s.aliyun.com/image-accelerate-mode";

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString("hex")}`;
}

/**
 * Creates a namespace and its "default" ServiceAccount: the ServiceAccount admission plugin (on, as in
 * real clusters) rejects pods whose ServiceAccount does not exist, and nothing else creates it here.
 */
export async function createTestNamespace(
  kc: KubeConfig,
  prefix: string,
  labels: Record<string, string> = {},
): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  const name = uniqueName(prefix);
  await core.createNamespace({ body: { metadata: { name, labels } } });
  await ensureServiceAccount(kc, name, "default");
  return name;
}

export async function ensureServiceAccount(kc: KubeConfig, namespace: string, name: string): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  try {
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
  }
}

export async function deleteNamespaces(kc: KubeConfig, names: Iterable<string>): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  await Promise.all([...names].map((name) => core.deleteNamespace({ name }).catch(() => undefined)));
}

/**
 * A kubeconfig whose user is the ServiceAccount (a TokenRequest token), so a process run with it has
 * exactly the RBAC the chart grants that ServiceAccount.
 */
export async function serviceAccountKubeconfig(
  cluster: TestCluster,
  namespace: string,
  serviceAccount: string,
  dir: string,
): Promise<string> {
  const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  const answer = await core.createNamespacedServiceAccountToken({
    name: serviceAccount,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const token = answer.status?.token;
  if (!token) throw new Error(`no token for ${namespace}/${serviceAccount}`);
  const ca = cluster.kubeConfig.getCurrentCluster()?.caData ?? "";
  const path = join(dir, `${serviceAccount}.kubeconfig`);
  const text = [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "  - name: c",
    "    cluster:",
    `      server: ${cluster.server}`,
    `      certificate-authority-data: ${ca}`,
    "users:",
    "  - name: u",
    "    user:",
    `      token: ${token}`,
    "contexts:",
    "  - name: c",
    "    context: { cluster: c, user: u }",
    "current-context: c",
    "",
  ].join("\n");
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

/**
 * Writes a quota's status as the quota controller would (hard = spec, used = 0), so admission enforces
 * it. Where a quota controller runs (kind) and has already done so, nothing is written.
 */
export async function setQuotaStatus(kc: KubeConfig, namespace: string, name: string): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  for (let attempt = 0; attempt < 3; attempt++) {
    const quota: V1ResourceQuota = await core.readNamespacedResourceQuota({ name, namespace });
    if (Object.keys(quota.status?.hard ?? {}).length > 0) return;
    const hard = quota.spec?.hard ?? {};
    quota.status = { hard, used: Object.fromEntries(Object.keys(hard).map((k) => [k, "0"])) };
    try {
      await core.replaceNamespacedResourceQuotaStatus({ name, namespace, body: quota });
      return;
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
  }
}

/**
 * A real TokenRequest token of the pod's `default` ServiceAccount, bound to the pod (so it dies with
 * it), for `audience`: what a sidecar's projected token volume holds.
 */
export async function podBoundToken(core: CoreV1Api, pod: V1Pod, audience: string): Promise<string> {
  const answer = await core.createNamespacedServiceAccountToken({
    name: "default",
    namespace: pod.metadata!.namespace!,
    body: {
      spec: {
        audiences: [audience],
        expirationSeconds: 600,
        boundObjectRef: { kind: "Pod", apiVersion: "v1", name: pod.metadata!.name!, uid: pod.metadata!.uid! },
      },
    },
  });
  return answer.status?.token ?? "";
}
