/**
 * The node tier's network: one bridge on the host (an address of a private /24, no route beyond it, no
 * masquerade, no DNS) and, per virtual node, a network namespace joined to it by a veth pair. Nothing
 * here routes anywhere else: the namespaces reach the bridge's /24, each other's pod subnets and their
 * own loopback only.
 *
 * Pods that do not use the node's network (the chart's controller and certgen Job) get an address in
 * their node's pod subnet, a /28 of 10.214.X.0/24 behind the node's CNI bridge. The host (the API
 * server calling a webhook at its endpoint) and every other node reach it through a route via the
 * node's address, which forwards (ip_forward in the node's namespace only). The kubernetes Service's
 * address, 10.0.0.1, is on every node's loopback, where the node's forwarder serves the API server:
 * what kube-proxy does for a pod's in-cluster client.
 *
 *   createNodeNetwork() -> NodeNetwork        bridge up; names carry this process's pid
 *   network.addNode(n) -> NodeNamespace       namespace ap2p-<pid><a..z>-<n>, address 10.213.X.<n+1>,
 *                                             pod subnet 10.214.X.<16n>/28
 *   network.remove()                          every namespace, veth and the bridge (and with it the
 *                                             host's routes), also at exit
 */
import { spawnSync } from "node:child_process";
import { atExit } from "./at-exit.ts";

/** The kubernetes Service's ClusterIP (the first of hack/cluster's --service-cluster-ip-range). */
export const KUBERNETES_SERVICE_IP = "10.0.0.1";

export interface NodeNamespace {
  readonly name: string;
  /** The node's address on the bridge (its InternalIP). */
  readonly ip: string;
  /** The CIDR its CNI gives pods that do not use the node's network. */
  readonly podSubnet: string;
}

export interface NodeNetwork {
  readonly bridge: string;
  /** The bridge's own address: the host as the nodes see it. */
  readonly hostIp: string;
  addNode(index: number): NodeNamespace;
  remove(): void;
}

function ip(args: string[], allowFail = false): string {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  if (r.status !== 0 && !allowFail)
    throw new Error(`ip ${args.join(" ")}: ${r.stderr.trim() || r.error?.message}`);
  return r.stdout;
}

/** An X such that no interface or route of this machine uses 10.213.X.0/24 (nodes) or 10.214.X.0/24 (pods). */
function freeSubnet(): number {
  const used = ip(["-4", "-o", "addr", "show"]) + ip(["-4", "route", "show"]);
  for (let i = 0; i < 250; i++) {
    const x = (process.pid + i) % 250;
    if (!used.includes(`10.213.${x}.`) && !used.includes(`10.214.${x}.`)) return x;
  }
  throw new Error("no free 10.213.X.0/24 and 10.214.X.0/24 for the node network");
}

/** Pod subnets are /28s: 16 per network, one per node index. */
const MAX_NODE_INDEX = 15;

let networks = 0;

export function createNodeNetwork(): NodeNetwork {
  // Interface names are at most 15 characters: the pid and a count of this process's networks.
  const tag = `${process.pid}${String.fromCharCode(97 + (networks++ % 26))}`;
  const bridge = `ap2pbr${tag}`;
  const subnet = freeSubnet();
  const hostIp = `10.213.${subnet}.1`;
  const namespaces: string[] = [];
  const veths: string[] = [];
  const nodes: NodeNamespace[] = [];
  ip(["link", "add", bridge, "type", "bridge"]);
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    unregister();
    for (const ns of namespaces) ip(["netns", "del", ns], true);
    for (const veth of veths) ip(["link", "del", veth], true);
    ip(["link", "del", bridge], true);
  };
  const unregister = atExit(remove);
  try {
    ip(["addr", "add", `${hostIp}/24`, "dev", bridge]);
    ip(["link", "set", bridge, "up"]);
  } catch (err) {
    remove();
    throw err;
  }
  return {
    bridge,
    hostIp,
    addNode(index: number): NodeNamespace {
      if (!Number.isInteger(index) || index < 1 || index > MAX_NODE_INDEX)
        throw new RangeError(`node index must be 1..${MAX_NODE_INDEX}, got ${index}`);
      const name = `ap2p-${tag}-${index}`;
      const hostEnd = `ap${tag}${index}`;
      const nodeIp = `10.213.${subnet}.${index + 1}`;
      const podSubnet = `10.214.${subnet}.${index * 16}/28`;
      ip(["netns", "add", name]);
      namespaces.push(name);
      ip(["link", "add", hostEnd, "type", "veth", "peer", "name", "eth0", "netns", name]);
      veths.push(hostEnd);
      ip(["link", "set", hostEnd, "master", bridge, "up"]);
      ip(["-n", name, "addr", "add", `${nodeIp}/24`, "dev", "eth0"]);
      ip(["-n", name, "link", "set", "eth0", "up"]);
      ip(["-n", name, "link", "set", "lo", "up"]);
      ip(["-n", name, "addr", "add", `${KUBERNETES_SERVICE_IP}/32`, "dev", "lo"]);
      // The node forwards between its pods and the bridge: this namespace's setting, not the host's.
      ip(["netns", "exec", name, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
      ip(["route", "add", podSubnet, "via", nodeIp, "dev", bridge]);
      for (const other of nodes) {
        ip(["-n", name, "route", "add", other.podSubnet, "via", other.ip]);
        ip(["-n", other.name, "route", "add", podSubnet, "via", nodeIp]);
      }
      const node = { name, ip: nodeIp, podSubnet };
      nodes.push(node);
      return node;
    },
    remove,
  };
}
