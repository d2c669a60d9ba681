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
import { createHostBridge, run } from "./host-bridge.ts";

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

const ip = (args: string[]): string => run("ip", args);

/** Pod subnets are /28s: 16 per network, one per node index. */
const MAX_NODE_INDEX = 15;

let networks = 0;

export function createNodeNetwork(): NodeNetwork {
  // Interface names are at most 15 characters: the pid and a count of this process's networks.
  const tag = `${process.pid}${String.fromCharCode(97 + (networks++ % 26))}`;
  const host = createHostBridge(`ap2pbr${tag}`, ["10.213.", "10.214."]);
  const { subnet, hostIp } = host;
  const bridge = host.name;
  const nodes: NodeNamespace[] = [];
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
      host.addNamespace(name, hostEnd, nodeIp);
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
    remove: host.remove,
  };
}
