/**
 * The Helm chart in the cluster tier: render it with the real helm binary, install it on the test API
 * server (`--no-hooks`: hooks are Jobs and nothing runs Jobs here; tests run the certgen command
 * themselves), and read back what a pod of the Deployment would get.
 *
 *   helm(cluster, args) -> CommandResult
 *   renderChart(cluster, values, extraArgs) -> {result, objects}
 *   installChart(cluster, valuesFile) -> void                      helm upgrade --install --no-hooks
 *   TEST_VALUES(webhookUrl)                                        the values the cluster tier installs
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KubernetesObject } from "@kubernetes/client-node";
import { parseAllDocuments, stringify } from "yaml";
import { REPO_ROOT, type TestCluster } from "./cluster.ts";
import { runCommand, type CommandResult } from "./origin/child-process.ts";

export const CHART_DIR = join(REPO_ROOT, "manifests/ack-acr-acceleration-p2p");
export const CHART_NAMESPACE = "aliyun-acr-acceleration";
export const RELEASE = "ack-acr-acceleration-p2p";
export const WEBHOOK_CONFIG_NAME = "ack-acr-acceleration-p2p";
export const CONTROLLER_SA = "ack-acr-acceleration-p2p-sa";
export const JOB_SA = "ack-acr-acceleration-p2p-job-sa";
/** The ServiceAccount of helm uninstall's cleanup hook (a hook object: only while the hook runs). */
export const CLEANUP_SA = "ack-acr-acceleration-p2p-cleanup";
export const TLS_SECRET = "ack-acr-acceleration-p2p-tls";

/** Accelerated registry hosts of the tests (nothing listens there: no kubelet ever pulls). */
export const TEST_REGISTRY = "registry.test.local:5000";
export const TEST_REGISTRY_PATH = "registry.test.local_5000";
export const SIDECAR_IMAGE = `${TEST_REGISTRY}/acr-p2p/sidecar@sha256:${"5".repeat(64)}`;

export function testValues(webhookUrl: string): Record<string, unknown> {
  return {
    registries: [TEST_REGISTRY],
    serverless: true,
    controller: {
      image: { repository: `${TEST_REGISTRY}/acr-p2p/controller`, digest: `sha256:${"c".repeat(64)}` },
    },
    sidecar: {
      image: { repository: `${TEST_REGISTRY}/acr-p2p/sidecar`, digest: `sha256:${"5".repeat(64)}` },
    },
    webhook: { url: webhookUrl, timeoutSeconds: 5 },
  };
}

export function writeValuesFile(dir: string, values: Record<string, unknown>, name = "values.yaml"): string {
  const path = join(dir, name);
  writeFileSync(path, stringify(values));
  return path;
}

export function helm(cluster: TestCluster, args: string[], timeoutMs = 60_000): Promise<CommandResult> {
  const env = {
    ...process.env,
    KUBECONFIG: cluster.kubeconfigPath,
    HELM_CACHE_HOME: "/tmp/acr-p2p-helm-cache",
  };
  return runCommand(cluster.helm, args, { timeoutMs, env });
}

export function parseManifests(text: string): KubernetesObject[] {
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as KubernetesObject | null)
    .filter((o): o is KubernetesObject => o !== null && typeof o === "object" && "kind" in o);
}

/** The test images as `helm --set` arguments: the chart renders nothing without images. */
export const IMAGE_SET_ARGS: readonly string[] = [
  "--set",
  [
    `controller.image.repository=${TEST_REGISTRY}/acr-p2p/controller`,
    `controller.image.digest=sha256:${"c".repeat(64)}`,
    `sidecar.image.repository=${TEST_REGISTRY}/acr-p2p/sidecar`,
    `sidecar.image.digest=sha256:${"5".repeat(64)}`,
  ].join(","),
];

/**
 * `helm template` of the chart (offline: no lookup, caBundle left to certgen), with the test images
 * unless `images` is false.
 */
export async function renderChart(
  cluster: TestCluster,
  setArgs: string[] = [],
  opts: { images?: boolean } = {},
): Promise<{ result: CommandResult; objects: KubernetesObject[] }> {
  const images = opts.images === false ? [] : IMAGE_SET_ARGS;
  const result = await helm(cluster, [
    "template",
    RELEASE,
    CHART_DIR,
    "-n",
    CHART_NAMESPACE,
    ...images,
    ...setArgs,
  ]);
  return { result, objects: result.code === 0 ? parseManifests(result.stdout) : [] };
}

export function findObject<T extends KubernetesObject>(
  objects: KubernetesObject[],
  kind: string,
  name?: string,
): T {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
  if (found.length === 0) throw new Error(`rendered chart has no ${kind}${name ? ` ${name}` : ""}`);
  if (found.length > 1) {
    const names = found.map((o) => o.metadata?.name).join(", ");
    throw new Error(`rendered chart has ${found.length} of kind ${kind} (${names}): name the one meant`);
  }
  return found[0] as T;
}

/** Installs (or upgrades) the chart on the cluster without hooks; throws with helm's output on failure. */
export async function installChart(cluster: TestCluster, valuesFile: string): Promise<void> {
  const r = await helm(cluster, [
    "upgrade",
    "--install",
    RELEASE,
    CHART_DIR,
    "-n",
    CHART_NAMESPACE,
    "--create-namespace",
    "--no-hooks",
    "-f",
    valuesFile,
  ]);
  if (r.code !== 0) throw new Error(`helm install failed:\n${r.stdout}\n${r.stderr}`);
}
