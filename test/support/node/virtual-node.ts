/**
 * A virtual node of the node tier: containerd (CRI) and a real kubelet in a network namespace of
 * node-network.ts, in a private mount namespace (hack/virtual-node), registered with the test API
 * server as a virtual node of one zone. The host services it needs (API server, origin, token server)
 * appear on its 127.0.0.1 at their host ports (netns-forwarder.ts), and the API server at the
 * kubernetes Service's 10.0.0.1:443 for in-cluster clients in pods.
 *
 *   startVirtualNode(cluster, network, {index, zone, forwardPorts}) -> VirtualNode
 *   node.importImage(layoutDir, baseName) -> name    an OCI layout into the node's CRI image store
 *   node.setHosts({name: ip})                        the node's /etc/hosts: what cluster DNS would answer
 *   node.containerPid(namespace, pod, container)     the host PID of a running container's process
 *   node.stop()                                      kubelet, containerd, every container (by cgroup), the
 *                                                    cgroups, the namespace's forwarder, the pods bound to
 *                                                    it (force); also at exit
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { CoreV1Api } from "@kubernetes/client-node";
import { tarLayer } from "../../../hack/images/layer.ts";
import { writeImageLayout } from "../../../hack/images/oci-layout.ts";
import type { TestCluster } from "../cluster.ts";
import { REPO_ROOT } from "../cluster.ts";
import {
  makeTempDir,
  removeTempDir,
  runCommand,
  spawnManaged,
  waitUntil,
  type ManagedProcess,
} from "../origin/child-process.ts";
import { KUBERNETES_SERVICE_IP, type NodeNamespace, type NodeNetwork } from "./node-network.ts";
import { importOciLayout, layoutTar } from "../pull-clients/containerd.ts";
import { atExit } from "./at-exit.ts";
import { forwardPortsInto, type PortForwarding } from "./netns-forwarder.ts";

const NODE_SCRIPT = join(REPO_ROOT, "hack/virtual-node");
/** The taint of ACK's virtual nodes. */
export const VIRTUAL_NODE_TAINT = {
  key: "virtual-kubelet.io/provider",
  value: "alibabacloud",
  effect: "NoSchedule",
};
const PAUSE_IMAGE = "acr-p2p.test/pause";
/** The v1 hierarchies the kubelet and runc use here (cgroups v1, hybrid). */
const CGROUP_HIERARCHIES = [
  "cpu",
  "cpuacct",
  "cpuset",
  "memory",
  "devices",
  "freezer",
  "blkio",
  "pids",
  "systemd",
];

export interface VirtualNodeOptions {
  /** 1, 2, ...: the node is vnode-<index>, at the network's .<index+1>. */
  readonly index: number;
  readonly zone: string;
  /** Host 127.0.0.1 ports the node must reach (the API server's is added). */
  readonly forwardPorts?: readonly number[];
}

export interface VirtualNode {
  readonly name: string;
  readonly zone: string;
  readonly ip: string;
  /** Where pods that do not use the node's network get their addresses (node-network.ts). */
  readonly podSubnet: string;
  readonly netns: string;
  readonly dir: string;
  readonly socket: string;
  /** Imports an OCI layout as baseName:<its tag> and baseName@<its digest>; resolves with the first. */
  importImage(layoutDir: string, baseName: string): Promise<string>;
  /**
   * Names the node resolves (its /etc/hosts, which hostNetwork pods started from then on get): what the
   * cluster's DNS would answer, e.g. a Service's name -> one of its endpoints (nothing here runs DNS or
   * kube-proxy).
   */
  setHosts(entries: Readonly<Record<string, string>>): void;
  /** The host PID of the container's running process (from containerd), or undefined if none runs. */
  containerPid(namespace: string, pod: string, container: string): Promise<number | undefined>;
  ctr(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /**
   * A container's log as the kubelet wrote it (CRI format: `<RFC 3339 ns time> <stream> <tag> <line>`),
   * read through the node's mount namespace; "" before it exists.
   */
  containerLog(namespace: string, pod: string, container: string): string;
  /** containerd's own log (its CRI requests: PullImage, ...), with nanosecond times. */
  containerdLog(): string;
  logTail(): string;
  stop(): Promise<void>;
}

export interface NodeTools {
  readonly kubelet: string;
  readonly pause: string;
}

export async function nodeTools(): Promise<NodeTools> {
  const r = await runCommand(join(REPO_ROOT, "hack/build-k8s-tools.sh"), ["--env"], { timeoutMs: 10_000 });
  if (r.code !== 0)
    throw new Error("the kubelet is not built: run hack/build-k8s-tools.sh (or hack/ci-deps.sh)");
  const env = new Map(
    r.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split("=", 2) as [string, string]),
  );
  return { kubelet: env.get("KUBELET")!, pause: env.get("PAUSE")! };
}

/** A one-layer image holding the pause binary, as the tar `ctr images import` reads. */
async function pauseImageTar(pauseBinary: string, dir: string): Promise<string> {
  const staging = join(dir, "pause-rootfs");
  mkdirSync(staging, { recursive: true });
  chmodSync(staging, 0o755);
  writeFileSync(join(staging, "pause"), readFileSync(pauseBinary));
  chmodSync(join(staging, "pause"), 0o755);
  const layer = await tarLayer(staging, join(dir, "pause-layer.tar.gz"));
  const layout = writeImageLayout(join(dir, "pause-layout"), {
    layers: [layer],
    refName: "1",
    config: {
      created: "1970-01-01T00:00:00Z",
      User: "65535:65535",
      Env: [],
      Entrypoint: ["/pause"],
      Cmd: [],
      WorkingDir: "/",
      Labels: {},
    },
  });
  const tar = join(dir, "pause.tar");
  await layoutTar(layout.dir, tar);
  return tar;
}

function hostsFile(entries: Readonly<Record<string, string>>): string {
  const lines = ["127.0.0.1 localhost", ...Object.entries(entries).map(([name, ip]) => `${ip} ${name}`)];
  return lines.join("\n") + "\n";
}

function containerdToml(dir: string): string {
  return `version = 2
root = "${dir}/containerd/root"
state = "${dir}/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "${dir}/containerd.sock"
[ttrpc]
  address = "${dir}/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}:1"
  # root here lacks CAP_SYS_RESOURCE: without this every sandbox fails to start.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${dir}/cni"
`;
}

function cniConflist(dir: string, podSubnet: string): string {
  // App pods use the node's network (hostNetwork, as an ECI pod has its VM's). Others (the chart's
  // controller and certgen Job) get an address of the node's pod subnet, routed by node-network.ts.
  return JSON.stringify({
    cniVersion: "0.4.0",
    name: "acr-p2p-node",
    plugins: [
      {
        type: "bridge",
        bridge: "cni0",
        isGateway: true,
        // The route to everything else (10.0.0.1, the host, other nodes) is the node: it has no default route.
        isDefaultGateway: true,
        ipMasq: false,
        ipam: {
          type: "host-local",
          ranges: [[{ subnet: podSubnet }]],
          dataDir: `${dir}/cni-ipam`,
        },
      },
    ],
  });
}

function kubeletYaml(dir: string, cgroupRoot: string, address: string): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: false }
authorization: { mode: AlwaysAllow }
address: ${address}
readOnlyPort: 0
healthzPort: 0
containerRuntimeEndpoint: unix://${dir}/containerd.sock
cgroupDriver: cgroupfs
cgroupRoot: ${cgroupRoot}
failCgroupV1: false
failSwapOn: false
makeIPTablesUtilChains: false
resolvConf: ""
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: { memory.available: "1Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%" }
syncFrequency: 5s
nodeStatusUpdateFrequency: 5s
fileCheckFrequency: 5s
`;
}

/** The cgroup tree of the node in every v1 hierarchy; cpuset needs its cpus and mems before use. */
function createCgroupRoot(cgroupRoot: string): void {
  for (const h of CGROUP_HIERARCHIES) {
    const path = join("/sys/fs/cgroup", h, cgroupRoot);
    mkdirSync(path, { recursive: true });
    if (h === "cpuset") {
      for (const f of ["cpuset.cpus", "cpuset.mems"])
        writeFileSync(join(path, f), readFileSync(join("/sys/fs/cgroup/cpuset", f)));
    }
  }
}

/** Kills every process in the node's cgroups, then removes them, deepest first. */
async function removeCgroupRoot(cgroupRoot: string): Promise<void> {
  const trees = CGROUP_HIERARCHIES.map((h) => join("/sys/fs/cgroup", h, cgroupRoot)).filter(existsSync);
  const walk = (dir: string): string[] => [
    ...readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .flatMap((e) => walk(join(dir, e.name))),
    dir,
  ];
  const pids = () =>
    trees.flatMap(walk).flatMap((d) => {
      try {
        return readFileSync(join(d, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
      } catch {
        return [];
      }
    });
  await waitUntil(
    async () => {
      const left = pids();
      killAll(left);
      return left.length === 0;
    },
    20_000,
    () => `processes left in cgroup ${cgroupRoot}: ${pids().join(", ")}`,
    100,
  );
  // Deepest first; a hierarchy can take a moment to release an emptied cgroup, so it is retried.
  await waitUntil(
    async () => {
      for (const tree of trees.filter(existsSync)) {
        for (const dir of walk(tree)) {
          try {
            rmdirSync(dir);
          } catch {
            // still busy: next round
          }
        }
      }
      return trees.every((t) => !existsSync(t));
    },
    10_000,
    () => `cgroup ${cgroupRoot} not removed`,
    100,
  );
}

function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
}

/** containerd shims of this node (they leave the node's process tree): found by their socket address. */
function shimPids(dir: string): number[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const cmdline = readFileSync(`/proc/${p}/cmdline`, "utf8");
        return cmdline.includes("containerd-shim") && cmdline.includes(`${dir}/containerd.sock`);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/**
 * Pods bound to a node that is gone would never finish terminating, and their declared host ports
 * would keep the next node of that name from taking pods: they go at once, as a node's eviction would.
 */
async function deletePodsBoundTo(cluster: TestCluster, nodeName: string): Promise<void> {
  const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  const pods = await core
    .listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${nodeName}` })
    .catch(() => ({ items: [] }));
  for (const pod of pods.items) {
    await core
      .deleteNamespacedPod({
        name: pod.metadata!.name!,
        namespace: pod.metadata!.namespace!,
        gracePeriodSeconds: 0,
      })
      .catch(() => undefined);
  }
}

export async function startVirtualNode(
  cluster: TestCluster,
  network: NodeNetwork,
  opts: VirtualNodeOptions,
): Promise<VirtualNode> {
  const tools = await nodeTools();
  const ns: NodeNamespace = network.addNode(opts.index);
  const name = `vnode-${opts.index}`;
  const dir = makeTempDir(`node-${opts.index}`);
  const cgroupRoot = `/acr-p2p-${network.bridge}-${opts.index}`;
  const apiPort = Number(new URL(cluster.server).port);
  mkdirSync(join(dir, "cni"), { recursive: true });
  writeFileSync(join(dir, "cni", "10-acr-p2p.conflist"), cniConflist(dir, ns.podSubnet));
  writeFileSync(join(dir, "containerd.toml"), containerdToml(dir));
  writeFileSync(join(dir, "kubelet.yaml"), kubeletYaml(dir, cgroupRoot, ns.ip));
  writeFileSync(join(dir, "kubeconfig"), readFileSync(cluster.kubeconfigPath));
  writeFileSync(join(dir, "hosts"), hostsFile({}));
  await pauseImageTar(tools.pause, dir);
  const labels = [
    "type=virtual-kubelet",
    `topology.kubernetes.io/zone=${opts.zone}`,
    "alibabacloud.com/eci=true",
  ].join(",");
  writeFileSync(
    join(dir, "env"),
    [
      `KUBELET=${tools.kubelet}`,
      `NODE_NAME=${name}`,
      `NODE_IP=${ns.ip}`,
      `NODE_LABELS=${labels}`,
      // As ACK's virtual nodes: only pods that tolerate it (or are bound to the node) run there.
      `NODE_TAINTS=${VIRTUAL_NODE_TAINT.key}=${VIRTUAL_NODE_TAINT.value}:${VIRTUAL_NODE_TAINT.effect}`,
      `PAUSE_IMAGE_NAME=${PAUSE_IMAGE}`,
    ].join("\n") + "\n",
  );
  createCgroupRoot(cgroupRoot);
  const forwarding: PortForwarding = await forwardPortsInto(ns.name, [
    apiPort,
    // In-cluster clients in pods (KUBERNETES_SERVICE_HOST): the kubernetes Service, as kube-proxy would.
    { hostPort: apiPort, address: KUBERNETES_SERVICE_IP, port: 443 },
    ...(opts.forwardPorts ?? []),
  ]);
  const proc: ManagedProcess = spawnManaged(NODE_SCRIPT, ["run", ns.name, dir], {
    logPath: join(dir, "node.log"),
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    unregister();
    await proc.stop(15_000);
    // Containers outlive containerd (their shims are reparented): kill them by cgroup, then the shims.
    await removeCgroupRoot(cgroupRoot).catch(() => undefined);
    killAll(shimPids(dir));
    await forwarding.stop();
    removeTempDir(dir);
    await deletePodsBoundTo(cluster, name);
  };
  // A test process that exits without stop(): the node script dies with it (pdeathsig), the shims not.
  const unregister = atExit(() => killAll(shimPids(dir)));
  const node: VirtualNode = {
    name,
    zone: opts.zone,
    ip: ns.ip,
    podSubnet: ns.podSubnet,
    netns: ns.name,
    dir,
    socket: join(dir, "containerd.sock"),
    importImage: (layoutDir: string, baseName: string) =>
      // --digests: the webhook pins the sidecar image by digest (IfNotPresent finds it by that name).
      importOciLayout((args) => node.ctr(args), dir, layoutDir, baseName, { digests: true }),
    // Rewritten in place: the node's /etc/hosts is a bind mount of this file.
    setHosts: (entries) => writeFileSync(join(dir, "hosts"), hostsFile(entries)),
    async containerPid(namespace: string, pod: string, container: string) {
      const running = new Map(
        (await node.ctr(["tasks", "ls"])).stdout
          .split("\n")
          .slice(1)
          .map((l) => l.trim().split(/\s+/))
          .filter((f) => f[2] === "RUNNING")
          .map((f) => [f[0]!, Number(f[1])]),
      );
      for (const [id, pid] of running) {
        const info = await node.ctr(["containers", "info", id]);
        const labels = (JSON.parse(info.stdout) as { Labels?: Record<string, string> }).Labels ?? {};
        if (
          labels["io.kubernetes.pod.namespace"] === namespace &&
          labels["io.kubernetes.pod.name"] === pod &&
          labels["io.kubernetes.container.name"] === container
        )
          return pid;
      }
      return undefined;
    },
    ctr: (args) =>
      runCommand("ctr", ["-a", join(dir, "containerd.sock"), "-n", "k8s.io", ...args], { timeoutMs: 60_000 }),
    containerLog(namespace: string, pod: string, container: string): string {
      const pid = readFileSync(join(dir, "kubelet.pid"), "utf8").trim();
      const pods = `/proc/${pid}/root/var/log/pods`;
      const podDir = readdirSync(pods).find((d) => d.startsWith(`${namespace}_${pod}_`));
      const file = podDir && join(pods, podDir, container, "0.log");
      return file && existsSync(file) ? readFileSync(file, "utf8") : "";
    },
    containerdLog: () => readFileSync(join(dir, "containerd.log"), "utf8"),
    logTail: () => {
      const tail = (f: string) =>
        existsSync(join(dir, f)) ? readFileSync(join(dir, f), "utf8").slice(-3000) : "";
      return `node.log:\n${tail("node.log")}\nkubelet.log:\n${tail("kubelet.log")}\ncontainerd.log:\n${tail("containerd.log")}`;
    },
    stop,
  };
  try {
    await waitUntil(
      async () => {
        if (!proc.running) throw new Error(`${name} exited:\n${node.logTail()}`);
        const r = await runCommand(
          cluster.kubectl,
          [
            "--kubeconfig",
            cluster.kubeconfigPath,
            "get",
            "node",
            name,
            "-o",
            'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
          ],
          { timeoutMs: 10_000 },
        );
        return r.code === 0 && r.stdout.trim() === "True";
      },
      60_000,
      () => `${name} not Ready:\n${node.logTail()}`,
      250,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return node;
}
