/**
 * The cluster tier's control plane: a real etcd + kube-apiserver (hack/cluster), started once per mocha
 * run and stopped when the process exits, or an existing cluster given by ACR_P2P_TEST_KUBECONFIG
 * (e.g. kind, see hack/kind-e2e.sh), which is left as found.
 *
 *   testCluster() -> {kubeConfig, kubeconfigPath, helm, kubectl, external, ...}   memoized
 *
 * The binaries come from hack/build-k8s-tools.sh (cached by version under ~/.cache/acr-p2p/bin); when
 * they are not built the tier fails with a message saying to run it (a cold build takes 6-10 min, too
 * long to start from inside a test run).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { KubeConfig } from "@kubernetes/client-node";
import { runCommand } from "./origin/child-process.ts";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const CLUSTER_SCRIPT = join(REPO_ROOT, "hack/cluster");
const TOOLS_SCRIPT = join(REPO_ROOT, "hack/build-k8s-tools.sh");

export interface TestCluster {
  readonly kubeConfig: KubeConfig;
  readonly kubeconfigPath: string;
  /** The API server's URL. */
  readonly server: string;
  readonly helm: string;
  readonly kubectl: string;
  /** True when the cluster was given (ACR_P2P_TEST_KUBECONFIG), not started by this run. */
  readonly external: boolean;
  /** hack/cluster's state dir (logs, PKI); undefined for an external cluster. */
  readonly stateDir: string | undefined;
}

export class ClusterUnavailableError extends Error {
  readonly code = "CLUSTER_UNAVAILABLE";
  constructor(message: string) {
    super(message);
    this.name = "ClusterUnavailableError";
  }
}

function parseEnvLines(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m?.[1] !== undefined && m[2] !== undefined) out.set(m[1], m[2]);
  }
  return out;
}

function need(env: Map<string, string>, key: string): string {
  const v = env.get(key);
  if (v === undefined) throw new ClusterUnavailableError(`hack/cluster printed no ${key}`);
  return v;
}

/** Tool paths from the build cache, or from PATH for an external cluster without a local build. */
async function toolPaths(): Promise<{ helm: string; kubectl: string } | undefined> {
  const r = await runCommand(TOOLS_SCRIPT, ["--env"], { timeoutMs: 10_000 });
  if (r.code !== 0) return undefined;
  const env = parseEnvLines(r.stdout);
  return { helm: need(env, "HELM"), kubectl: need(env, "KUBECTL") };
}

async function startLocal(controllers: boolean): Promise<TestCluster> {
  // Not makeTempDir: its exit hook could remove the dir (and the pid files) before `down` reads them.
  const stateDir = mkdtempSync(join(tmpdir(), "acr-p2p-cluster-"));
  // Stop it at exit, even when a test failed (spawnSync is allowed in an exit handler); if this
  // process is killed outright, hack/cluster's watcher of ACR_P2P_CLUSTER_OWNER_PID stops it.
  process.once("exit", () => {
    spawnSync(CLUSTER_SCRIPT, ["down", stateDir], { stdio: "ignore", timeout: 20_000 });
  });
  const ownerEnv = {
    ...process.env,
    ACR_P2P_CLUSTER_OWNER_PID: String(process.pid),
    ACR_P2P_CLUSTER_CONTROLLERS: controllers ? "1" : "",
  };
  const r = await runCommand(CLUSTER_SCRIPT, ["up", stateDir], { timeoutMs: 120_000, env: ownerEnv });
  if (r.code === 3) {
    throw new ClusterUnavailableError(
      "kube-apiserver/etcd/helm are not built: run hack/build-k8s-tools.sh (or hack/ci-deps.sh) first",
    );
  }
  if (r.code !== 0) {
    throw new ClusterUnavailableError(
      `hack/cluster up failed (${r.code}${r.timedOut ? ", timed out" : ""}):\n${r.stderr}`,
    );
  }
  const env = parseEnvLines(r.stdout);
  const kubeconfigPath = need(env, "KUBECONFIG");
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  return {
    kubeConfig,
    kubeconfigPath,
    server: need(env, "KUBE_APISERVER_URL"),
    helm: need(env, "HELM"),
    kubectl: need(env, "KUBECTL"),
    external: false,
    stateDir,
  };
}

async function useExternal(kubeconfigPath: string): Promise<TestCluster> {
  if (!existsSync(kubeconfigPath))
    throw new ClusterUnavailableError(`ACR_P2P_TEST_KUBECONFIG: no file ${kubeconfigPath}`);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  const tools = (await toolPaths()) ?? { helm: "helm", kubectl: "kubectl" };
  return {
    kubeConfig,
    kubeconfigPath,
    server: kubeConfig.getCurrentCluster()?.server ?? "",
    ...tools,
    external: true,
    stateDir: undefined,
  };
}

let shared: Promise<TestCluster> | undefined;
let sharedWithControllers = false;

/**
 * The run's control plane: started on first use, shared by every test file of the run. With
 * `controllers`, kube-controller-manager and kube-scheduler run too (the node tier); a run asks for
 * one kind only.
 */
export function testCluster(opts: { controllers?: boolean } = {}): Promise<TestCluster> {
  if (shared) {
    if (opts.controllers !== undefined && opts.controllers !== sharedWithControllers)
      throw new Error(
        `the run's control plane was started ${sharedWithControllers ? "with" : "without"} controllers`,
      );
    return shared;
  }
  const given = process.env.ACR_P2P_TEST_KUBECONFIG;
  sharedWithControllers = opts.controllers ?? false;
  shared = given ? useExternal(given) : startLocal(sharedWithControllers);
  return shared;
}
