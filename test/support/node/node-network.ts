/**
 * The node tier's network: one bridge on the host (an address of a private /24, no route beyond it, no
 * masquerade, no DNS) and, per virtual node, a network namespace joined to it by a veth pair. Nothing
 * here routes anywhere else: the namespaces reach the bridge's /24 and their own loopback only.
 *
 *   createNodeNetwork() -> NodeNetwork        bridge up; names carry this process's pid
 *   network.addNode(n) -> NodeNamespace       namespace ap2p-<pid><a..z>-<n>, address 10.213.X.<n+1>
 *   network.remove()                          every namespace, veth and the bridge, also at exit
 */
import { spawnSync } from "node:child_process";
import { atExit } from "./at-exit.ts";

export interface NodeNamespace {
  readonly name: string;
  /** The node's address on the bridge (its InternalIP). */
  readonly ip: string;
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

/** A /24 in 10.213.0.0/16 no interface of this machine uses yet. */
function freeSubnet(): number {
  const used = ip(["-4", "-o", "addr", "show"]);
  for (let i = 0; i < 250; i++) {
    const x = (process.pid + i) % 250;
    if (!used.includes(` 10.213.${x}.`)) return x;
  }
  throw new Error("no free 10.213.X.0/24 for the node network");
}

let networks = 0;

export function createNodeNetwork(): NodeNetwork {
  // Interface names are at most 15 characters: the pid and a count of this process's networks.
  const tag = `${process.pid}${String.fromCharCode(97 + (networks++ % 26))}`;
  const bridge = `ap2pbr${tag}`;
  const subnet = freeSubnet();
  const hostIp = `10.213.${subnet}.1`;
  const namespaces: string[] = [];
  const veths: string[] = [];
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
      const name = `ap2p-${tag}-${index}`;
      const hostEnd = `ap${tag}${index}`;
      const nodeIp = `10.213.${subnet}.${index + 1}`;
      ip(["netns", "add", name]);
      namespaces.push(name);
      ip(["link", "add", hostEnd, "type", "veth", "peer", "name", "eth0", "netns", name]);
      veths.push(hostEnd);
      ip(["link", "set", hostEnd, "master", bridge, "up"]);
      ip(["-n", name, "addr", "add", `${nodeIp}/24`, "dev", "eth0"]);
      ip(["-n", name, "link", "set", "eth0", "up"]);
      ip(["-n", name, "link", "set", "lo", "up"]);
      return { name, ip: nodeIp };
    },
    remove,
  };
}
