/**
 * The controller as a local process against the test API server. There is no kubelet to run the
 * chart's Deployment, so this runs `node bin/acr-p2p.ts` with the Deployment's own args and env, read
 * back from the API server (envFrom ConfigMap, fieldRef, secretKeyRef) or from the chart rendered
 * with other values, with local stand-ins for what a pod would have: the listen address on
 * 127.0.0.1 (the chart registers the webhook by URL there), the mounted volumes' files in a temp dir
 * (Secret keys, projected ServiceAccount tokens from TokenRequest), and a kubeconfig acting as the
 * controller's ServiceAccount (so the chart's RBAC is what the process gets).
 *
 *   chartInstall() -> ChartInstall  chart installed (helm --no-hooks), serving cert + caBundle in place
 *   sharedWebhook() -> WebhookRig   and the controller process running and active: one per mocha run
 *   startWebhookProcess / stopWebhookProcess(rig)   for tests that take the webhook down
 *   startActiveWebhook(rig)         start it again and wait until the API server calls it
 *   spawnControllerProcess(cluster, {port, dir, rendered?, extraEnv?}) + waitHealthy   any other run
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import {
  AppsV1Api,
  CoreV1Api,
  type KubeConfig,
  type KubernetesObject,
  type V1ConfigMap,
  type V1Container,
  type V1Deployment,
  type V1PodSpec,
  type V1Secret,
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
import { sampleOrZero } from "./peer/p2p-group.ts";
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
  /** The peer directory's port on 127.0.0.1 (the local process's; 0 on an external cluster). */
  readonly directoryPort: number;
  readonly dir: string;
  /** A namespace labelled for P2P, for probes. */
  readonly probeNamespace: string;
  ca: TestCa;
  readonly sidecarImage: string;
  process: ManagedProcess | undefined;
}

/**
 * Where a controller process's objects come from: the chart's rendered output when given (`helm
 * template` with other values than the installed release), else the live objects; Secrets the chart
 * does not render (the TLS Secret certgen makes) are always read live.
 */
class ObjectSource {
  readonly #kc: KubeConfig;
  readonly #core: CoreV1Api;
  readonly #namespace: string;
  readonly #rendered: readonly KubernetesObject[];

  constructor(kc: KubeConfig, namespace: string, rendered: readonly KubernetesObject[] = []) {
    this.#kc = kc;
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#namespace = namespace;
    this.#rendered = rendered;
  }

  #find<T>(kind: string, name: string): T | undefined {
    return this.#rendered.find((o) => o.kind === kind && o.metadata?.name === name) as T | undefined;
  }

  async deployment(name: string): Promise<V1Deployment> {
    return (
      this.#find<V1Deployment>("Deployment", name) ??
      (await this.#kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ name, namespace: this.#namespace }))
    );
  }

  async configMapData(name: string): Promise<Record<string, string>> {
    const cm =
      this.#find<V1ConfigMap>("ConfigMap", name) ??
      (await this.#core.readNamespacedConfigMap({ name, namespace: this.#namespace }));
    return cm.data ?? {};
  }

  /** Base64 values, as the API returns them. */
  async secretData(name: string): Promise<Record<string, string>> {
    const rendered = this.#find<V1Secret>("Secret", name);
    if (rendered) {
      const data = { ...rendered.data };
      for (const [k, v] of Object.entries(rendered.stringData ?? {}))
        data[k] = Buffer.from(v).toString("base64");
      return data;
    }
    const secret = await this.#core.readNamespacedSecret({ name, namespace: this.#namespace });
    return secret.data ?? {};
  }

  /** What the kubelet writes for a projected serviceAccountToken source: a TokenRequest's token. */
  async serviceAccountToken(serviceAccount: string, audience: string, seconds: number): Promise<string> {
    const answer = await this.#core.createNamespacedServiceAccountToken({
      name: serviceAccount,
      namespace: this.#namespace,
      body: { spec: { audiences: [audience], expirationSeconds: seconds } },
    });
    const token = answer.status?.token;
    if (!token) throw new Error(`no token for ${this.#namespace}/${serviceAccount}`);
    return token;
  }
}

/** Resolves a container's env the way the kubelet would. */
async function resolveEnv(
  source: ObjectSource,
  namespace: string,
  c: V1Container,
): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef?.name) Object.assign(env, await source.configMapData(from.configMapRef.name));
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === "metadata.namespace") env[e.name] = namespace;
    else if (e.valueFrom?.secretKeyRef) {
      const ref = e.valueFrom.secretKeyRef;
      // A missing Secret fails the pod unless the reference is optional (the kubelet's rule).
      const data = await source
        .secretData(ref.name ?? "")
        .catch((err: unknown) => (ref.optional ? ({} as Record<string, string>) : Promise.reject(err)));
      const value = data[ref.key];
      if (value !== undefined) env[e.name] = Buffer.from(value, "base64").toString("utf8");
    }
  }
  return env;
}

/** Where a controller process started in `dir` has the files of its volume `volume`. */
export function localMountDir(dir: string, volume: string): string {
  return join(dir, "mounts", volume);
}

/**
 * Writes each mounted volume's files into `dir` (Secret keys; projected ServiceAccount tokens, as the
 * kubelet would) and returns mountPath -> local dir. An optional Secret that does not exist leaves
 * its volume empty (the kubelet's rule); test/support/secret-volume.ts fills it in later.
 */
async function localMounts(source: ObjectSource, spec: V1PodSpec, c: V1Container, dir: string) {
  const mounts = new Map<string, string>();
  for (const m of c.volumeMounts ?? []) {
    const volume = spec.volumes?.find((v) => v.name === m.name);
    const local = localMountDir(dir, m.name);
    mkdirSync(local, { recursive: true });
    if (volume?.secret?.secretName) {
      const optional = volume.secret.optional === true;
      const data = await source
        .secretData(volume.secret.secretName)
        .catch((err: unknown) =>
          optional && (err as { code?: number }).code === 404
            ? ({} as Record<string, string>)
            : Promise.reject(err),
        );
      for (const [key, value] of Object.entries(data)) {
        writeFileSync(join(local, key), Buffer.from(value, "base64"), { mode: 0o600 });
      }
    }
    for (const projected of volume?.projected?.sources ?? []) {
      const sat = projected.serviceAccountToken;
      if (!sat) continue;
      const token = await source.serviceAccountToken(
        spec.serviceAccountName ?? "default",
        sat.audience ?? "",
        sat.expirationSeconds ?? 3600,
      );
      writeFileSync(join(local, sat.path), token, { mode: 0o600 });
    }
    mounts.set(m.mountPath, local);
  }
  return mounts;
}

export interface ControllerProcessOptions {
  /** The webhook's port on 127.0.0.1. */
  readonly port: number;
  /** The peer directory's port on 127.0.0.1; default a free port (never the chart's fixed one). */
  readonly directoryPort?: number;
  readonly dir: string;
  /** `helm template` output to run instead of the installed Deployment and ConfigMap. */
  readonly rendered?: readonly KubernetesObject[];
  /**
   * Paths the code uses by default when their env variable is unset (e.g. the RRSA token file): set to
   * that path, so that a mount at that path maps it to the local copy like any other path.
   */
  readonly defaultPaths?: Readonly<Record<string, string>>;
  /** Stand-ins for what only a pod in a real cluster would have (endpoint overrides, a test CA). */
  readonly extraEnv?: Readonly<Record<string, string>>;
  readonly logName?: string;
}

/**
 * Runs the chart's controller container as a local process: its args and env (envFrom ConfigMap,
 * fieldRef, secretKeyRef), its mounted files in `dir`, listening on 127.0.0.1:`port`, with a
 * kubeconfig acting as the Deployment's ServiceAccount (so the chart's RBAC is what it gets).
 */
export async function spawnControllerProcess(
  cluster: TestCluster,
  options: ControllerProcessOptions,
): Promise<ManagedProcess> {
  if (cluster.external) throw new Error("the webhook runs in the cluster, not as a local process");
  const source = new ObjectSource(cluster.kubeConfig, CHART_NAMESPACE, options.rendered);
  const deployment = await source.deployment(RELEASE);
  const spec = deployment.spec?.template.spec;
  const container = spec?.containers[0];
  if (!spec || !container) throw new Error("the chart's Deployment has no container");
  const env = await resolveEnv(source, CHART_NAMESPACE, container);
  for (const [key, path] of Object.entries(options.defaultPaths ?? {})) env[key] ??= path;
  const mounts = await localMounts(source, spec, container, options.dir);
  for (const [key, value] of Object.entries(env)) {
    for (const [mountPath, local] of mounts) {
      if (value.startsWith(`${mountPath}/`)) env[key] = local + value.slice(mountPath.length);
    }
  }
  env.ACR_P2P_LISTEN = `127.0.0.1:${options.port}`;
  env.ACR_P2P_DIRECTORY_PORT = String(options.directoryPort ?? (await freePort()));
  env.ACR_P2P_METRICS_PORT = String(await freePort());
  env.KUBECONFIG = await serviceAccountKubeconfig(
    cluster,
    CHART_NAMESPACE,
    spec.serviceAccountName ?? CONTROLLER_SA,
    options.dir,
  );
  Object.assign(env, options.extraEnv);
  const args = [join(REPO_ROOT, "bin/acr-p2p.ts"), ...(container.command ?? []), ...(container.args ?? [])];
  return spawnManaged(process.execPath, args, {
    logPath: join(options.dir, options.logName ?? "webhook.log"),
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", ...env },
  });
}

/** Waits until the process answers /healthz over TLS trusted by `caPem`; throws with its log if it exits. */
export async function waitHealthy(proc: ManagedProcess, port: number, caPem: string): Promise<void> {
  await waitUntil(
    async () => {
      if (!proc.running) throw new Error(`webhook exited (${proc.exitCode}):\n${proc.logTail()}`);
      return (await healthStatus(port, caPem)) === 200;
    },
    30_000,
    () => `webhook not healthy on 127.0.0.1:${port}:\n${proc.logTail()}`,
    100,
  );
}

export async function startWebhookProcess(rig: WebhookRig): Promise<void> {
  rig.process = await spawnControllerProcess(rig.cluster, {
    port: rig.port,
    directoryPort: rig.directoryPort,
    dir: rig.dir,
  });
  await waitHealthy(rig.process, rig.port, rig.ca.caPem);
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

/** A sample of the local controller's /metrics (over TLS trusted by the rig's CA), 0 when absent. */
export function webhookMetric(rig: WebhookRig, sample: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: rig.port, path: "/metrics", ca: rig.ca.caPem, timeout: 5000 },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => resolve(sampleOrZero(text, sample)));
      },
    );
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("/metrics timed out")));
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

/** Waits until webhookActive: a new process, registration or certificate takes a moment to be called. */
export async function waitWebhookActive(
  rig: WebhookRig,
  failure: () => string,
  timeoutMs = 20_000,
): Promise<void> {
  await waitUntil(() => webhookActive(rig), timeoutMs, failure, 200);
}

/** Starts the local controller process and waits until the API server calls it (tests that took it down). */
export async function startActiveWebhook(
  rig: WebhookRig,
  failure: () => string = () => "webhook not active again",
): Promise<void> {
  await startWebhookProcess(rig);
  await waitWebhookActive(rig, failure);
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
  const directoryPort = cluster.external ? 0 : await freePort();
  const rig: WebhookRig = {
    cluster,
    port,
    directoryPort,
    dir,
    probeNamespace,
    ca,
    sidecarImage,
    process: undefined,
  };
  if (!cluster.external) await startWebhookProcess(rig);
  await waitWebhookActive(
    rig,
    () => `the API server does not inject pods through the webhook:\n${rig.process?.logTail() ?? ""}`,
    cluster.external ? 120_000 : 20_000,
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
