/**
 * The controller as a local process against the test API server. There is no kubelet to run the
 * chart's Deployment, so this runs `node bin/acr-p2p.ts` with the Deployment's own args and env, read
 * back from the API server (envFrom ConfigMap, fieldRef, secretKeyRef), with three local stand-ins
 * for what a pod would have: the listen address on 127.0.0.1 (the chart registers the webhook by URL
 * there), the mounted Secret's files in a temp dir, and a kubeconfig acting as the controller's
 * ServiceAccount (so the chart's RBAC is what the process gets).
 *
 *   chartInstall() -> ChartInstall  chart installed (helm --no-hooks), serving cert + caBundle in place
 *   sharedWebhook() -> WebhookRig   and the controller process running and active: one per mocha run
 *   startWebhookProcess / stopWebhookProcess(rig)   for tests that take the webhook down
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import {
  AppsV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1Container,
  type V1PodSpec,
} from "@kubernetes/client-node";
import { createTestCa, type TestCa } from "./cloud/test-ca.ts";
import { REPO_ROOT, testCluster, type TestCluster } from "./cluster.ts";
import {
  CHART_NAMESPACE,
  CONTROLLER_SA,
  RELEASE,
  TLS_SECRET,
  installChart,
  testValues,
  writeValuesFile,
} from "./cluster-chart.ts";
import {
  createTestNamespace,
  ensureServiceAccount,
  MODE_LABEL,
  serviceAccountKubeconfig,
} from "./cluster-objects.ts";
import { patchCaBundle, writeServingSecret } from "./cluster-tls.ts";
import {
  freePort,
  makeTempDir,
  spawnManaged,
  waitUntil,
  type ManagedProcess,
} from "./origin/child-process.ts";

export interface WebhookRig {
  readonly cluster: TestCluster;
  readonly port: number;
  readonly dir: string;
  /** A namespace labelled for P2P, for probes. */
  readonly probeNamespace: string;
  ca: TestCa;
  readonly sidecarImage: string;
  process: ManagedProcess | undefined;
}

/** Resolves a container's env the way the kubelet would, from the live objects. */
async function resolveEnv(
  kc: KubeConfig,
  namespace: string,
  c: V1Container,
): Promise<Record<string, string>> {
  const core = kc.makeApiClient(CoreV1Api);
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef?.name) {
      const cm = await core.readNamespacedConfigMap({ name: from.configMapRef.name, namespace });
      Object.assign(env, cm.data ?? {});
    }
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === "metadata.namespace") env[e.name] = namespace;
    else if (e.valueFrom?.secretKeyRef) {
      const ref = e.valueFrom.secretKeyRef;
      const secret = await core.readNamespacedSecret({ name: ref.name ?? "", namespace });
      const value = secret.data?.[ref.key];
      if (value !== undefined) env[e.name] = Buffer.from(value, "base64").toString("utf8");
    }
  }
  return env;
}

/** Writes each mounted Secret's keys into `dir` and returns mountPath -> local dir. */
async function localMounts(kc: KubeConfig, namespace: string, spec: V1PodSpec, c: V1Container, dir: string) {
  const core = kc.makeApiClient(CoreV1Api);
  const mounts = new Map<string, string>();
  for (const m of c.volumeMounts ?? []) {
    const volume = spec.volumes?.find((v) => v.name === m.name);
    const local = join(dir, "mounts", m.name);
    mkdirSync(local, { recursive: true });
    if (volume?.secret?.secretName) {
      const secret = await core.readNamespacedSecret({ name: volume.secret.secretName, namespace });
      for (const [key, value] of Object.entries(secret.data ?? {})) {
        writeFileSync(join(local, key), Buffer.from(value, "base64"), { mode: 0o600 });
      }
    }
    mounts.set(m.mountPath, local);
  }
  return mounts;
}

export async function startWebhookProcess(rig: WebhookRig): Promise<void> {
  if (rig.cluster.external) throw new Error("the webhook runs in the cluster, not as a local process");
  const kc = rig.cluster.kubeConfig;
  const deployment = await kc
    .makeApiClient(AppsV1Api)
    .readNamespacedDeployment({ name: RELEASE, namespace: CHART_NAMESPACE });
  const spec = deployment.spec?.template.spec;
  const container = spec?.containers[0];
  if (!spec || !container) throw new Error("the chart's Deployment has no container");
  const env = await resolveEnv(kc, CHART_NAMESPACE, container);
  const mounts = await localMounts(kc, CHART_NAMESPACE, spec, container, rig.dir);
  for (const [key, value] of Object.entries(env)) {
    for (const [mountPath, local] of mounts) {
      if (value.startsWith(`${mountPath}/`)) env[key] = local + value.slice(mountPath.length);
    }
  }
  env.ACR_P2P_LISTEN = `127.0.0.1:${rig.port}`;
  env.KUBECONFIG = await serviceAccountKubeconfig(rig.cluster, CHART_NAMESPACE, CONTROLLER_SA, rig.dir);
  const args = [join(REPO_ROOT, "bin/acr-p2p.ts"), ...(container.command ?? []), ...(container.args ?? [])];
  rig.process = spawnManaged(process.execPath, args, {
    logPath: join(rig.dir, "webhook.log"),
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", ...env },
  });
  const proc = rig.process;
  await waitUntil(
    async () => {
      if (!proc.running) throw new Error(`webhook exited (${proc.exitCode}):\n${proc.logTail()}`);
      return (await healthStatus(rig.port, rig.ca.caPem)) === 200;
    },
    30_000,
    () => `webhook not healthy on 127.0.0.1:${rig.port}:\n${proc.logTail()}`,
    100,
  );
}

export function healthStatus(port: number, caPem: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path: "/healthz", ca: caPem, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", () => resolve(0));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

/** True once the API server sends pods of a labelled namespace to the webhook (a dry-run create). */
export async function webhookActive(rig: WebhookRig): Promise<boolean> {
  const core = rig.cluster.kubeConfig.makeApiClient(CoreV1Api);
  const pod = await core.createNamespacedPod({
    namespace: rig.probeNamespace,
    dryRun: "All",
    body: {
      metadata: { generateName: "probe-" },
      spec: { containers: [{ name: "app", image: `registry.test.local:5000/probe/app:1` }] },
    },
  });
  return (pod.spec?.initContainers?.length ?? 0) > 0;
}

export async function stopWebhookProcess(rig: WebhookRig): Promise<void> {
  await rig.process?.stop();
  rig.process = undefined;
}

export interface ChartInstall {
  readonly cluster: TestCluster;
  /** Where the webhook is registered: https://127.0.0.1:<port>/mutate (0 when it runs in the cluster). */
  readonly port: number;
  readonly dir: string;
  /** The values the chart was installed with; undefined when installed by someone else (kind-e2e). */
  readonly valuesFile: string | undefined;
  /** The CA of the serving certificate in the TLS Secret and the caBundle. */
  readonly ca: TestCa;
  /** The sidecar image the controller injects (ACR_P2P_SIDECAR_IMAGE of the chart's ConfigMap). */
  readonly sidecarImage: string;
}

async function sidecarImageOf(kc: KubeConfig): Promise<string> {
  const cm = await kc
    .makeApiClient(CoreV1Api)
    .readNamespacedConfigMap({ name: `${RELEASE}-config`, namespace: CHART_NAMESPACE });
  const image = cm.data?.ACR_P2P_SIDECAR_IMAGE;
  if (!image) throw new Error("the chart's ConfigMap has no ACR_P2P_SIDECAR_IMAGE");
  return image;
}

/**
 * The chart installed with the test values, plus what the certgen hook would have done (TLS Secret,
 * caBundle), done here with a test CA so that tests of the chart and of injection do not depend on
 * certgen (certgen.test.ts covers it). On an external cluster (hack/kind-e2e.sh) the chart was
 * installed with hooks and its Deployment runs the webhook: it is only read.
 */
async function install(): Promise<ChartInstall> {
  const cluster = await testCluster();
  const kc = cluster.kubeConfig;
  const dir = makeTempDir("webhook");
  // Pods are created in these namespaces by the tests; the ServiceAccount plugin needs "default".
  const ensureDefaults = async () => {
    await ensureServiceAccount(kc, CHART_NAMESPACE, "default");
    await ensureServiceAccount(kc, "kube-system", "default");
  };
  if (cluster.external) {
    await ensureDefaults();
    const secret = await kc
      .makeApiClient(CoreV1Api)
      .readNamespacedSecret({ name: TLS_SECRET, namespace: CHART_NAMESPACE });
    const get = (k: string) => Buffer.from(secret.data?.[k] ?? "", "base64").toString("utf8");
    const ca = { caPem: get("ca.crt"), certPem: get("tls.crt"), keyPem: get("tls.key") };
    return { cluster, port: 0, dir, valuesFile: undefined, ca, sidecarImage: await sidecarImageOf(kc) };
  }
  const port = await freePort();
  const valuesFile = writeValuesFile(dir, testValues(`https://127.0.0.1:${port}/mutate`));
  await installChart(cluster, valuesFile);
  await ensureDefaults();
  const ca = createTestCa();
  await writeServingSecret(kc, CHART_NAMESPACE, TLS_SECRET, ca);
  await patchCaBundle(kc, ca.caPem);
  return { cluster, port, dir, valuesFile, ca, sidecarImage: await sidecarImageOf(kc) };
}

let installed: Promise<ChartInstall> | undefined;

export function chartInstall(): Promise<ChartInstall> {
  installed ??= install();
  return installed;
}

async function setUp(): Promise<WebhookRig> {
  const { cluster, port, dir, ca, sidecarImage } = await chartInstall();
  const probeNamespace = await createTestNamespace(cluster.kubeConfig, "probe", { [MODE_LABEL]: "p2p" });
  const rig: WebhookRig = { cluster, port, dir, probeNamespace, ca, sidecarImage, process: undefined };
  if (!cluster.external) await startWebhookProcess(rig);
  await waitUntil(
    () => webhookActive(rig),
    cluster.external ? 120_000 : 20_000,
    () => `the API server does not inject pods through the webhook:\n${rig.process?.logTail() ?? ""}`,
    200,
  );
  return rig;
}

let shared: Promise<WebhookRig> | undefined;

/**
 * The chart installed and the controller running (a local process, or the Deployment on an external
 * cluster), registered and active.
 */
export function sharedWebhook(): Promise<WebhookRig> {
  shared ??= setUp();
  return shared;
}

/** Skips a test that must start, stop or replace the local controller process (not on kind). */
export function needsLocalWebhook(ctx: Mocha.Context, rig: { cluster: TestCluster }): void {
  if (rig.cluster.external) ctx.skip();
}
