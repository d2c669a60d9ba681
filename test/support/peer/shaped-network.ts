/**
 * A network where every peer has the bandwidth of a pod, not of loopback: one bridge on the host (an
 * address of a private /24, no route beyond it, no masquerade, no DNS) and one network namespace per
 * peer, joined by a veth pair whose two ends are each capped with a token bucket (`tc qdisc ... tbf`):
 * the host end's egress is the peer's download, the namespace end's egress its upload. Traffic inside
 * a namespace (a pull client to its sidecar) stays on that namespace's loopback, uncapped, as a pod's.
 *
 *   createShapedNetwork({ bytesPerSec }) -> ShapedNetwork   bridge up; names carry this process's pid
 *   network.addPeer() -> ShapedPeer                          namespace ap2pbw<pid><a..z>-<i>, 10.215.X.<i+1>
 *   network.remove()                                         every namespace, veth and the bridge, also at exit
 *
 * Needs root (network namespaces, tc); the host's own settings are not touched.
 */
import { spawnSync } from "node:child_process";
import { atExit } from "../node/at-exit.ts";

export interface ShapedPeer {
  /** The namespace to run the peer's processes in (`ip netns exec <name> ...`). */
  readonly name: string;
  readonly ip: string;
}

export interface ShapedNetwork {
  /** The bridge's own address: the host (the origin) as the peers see it. */
  readonly hostIp: string;
  readonly peers: readonly ShapedPeer[];
  addPeer(): ShapedPeer;
  remove(): void;
}

export interface ShapedNetworkOptions {
  /** Each peer's cap, each way (download and upload), in bytes per second. */
  readonly bytesPerSec: number;
}

/** Peers per network: the /24 minus the bridge's address and the broadcast. */
const MAX_PEERS = 250;

function run(cmd: string, args: string[], allowFail = false): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0 && !allowFail)
    throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr.trim() || r.error?.message}`);
  return r.stdout;
}

/** An X such that no interface or route of this machine uses 10.215.X.0/24. */
function freeSubnet(): number {
  const used = run("ip", ["-4", "-o", "addr", "show"]) + run("ip", ["-4", "route", "show"]);
  for (let i = 0; i < 250; i++) {
    const x = (process.pid + i) % 250;
    if (!used.includes(`10.215.${x}.`)) return x;
  }
  throw new Error("no free 10.215.X.0/24 for the shaped network");
}

/**
 * tbf arguments for a cap of `bytesPerSec`: a bucket of 64 KiB or 10 ms of the rate, whichever is
 * larger (a smaller one cannot pass a full TSO segment at once), and at most 50 ms of queue.
 */
export function tokenBucket(bytesPerSec: number): string[] {
  if (!Number.isSafeInteger(bytesPerSec) || bytesPerSec < 125_000) {
    throw new RangeError(`a peer's cap must be at least 125000 bytes/s (1 Mbit/s), got ${bytesPerSec}`);
  }
  const burst = Math.max(64 * 1024, Math.ceil(bytesPerSec / 100));
  return ["tbf", "rate", `${bytesPerSec * 8}bit`, "burst", String(burst), "latency", "50ms"];
}

let networks = 0;

export function createShapedNetwork(options: ShapedNetworkOptions): ShapedNetwork {
  const bucket = tokenBucket(options.bytesPerSec);
  // Interface names are at most 15 characters: the pid and a count of this process's networks.
  const tag = `${process.pid}${String.fromCharCode(97 + (networks++ % 26))}`;
  const bridge = `ap2pbw${tag}`;
  const subnet = freeSubnet();
  const hostIp = `10.215.${subnet}.1`;
  const namespaces: string[] = [];
  const veths: string[] = [];
  const peers: ShapedPeer[] = [];
  run("ip", ["link", "add", bridge, "type", "bridge"]);
  let removed = false;
  const remove = (): void => {
    if (removed) return;
    removed = true;
    unregister();
    for (const ns of namespaces) run("ip", ["netns", "del", ns], true);
    for (const veth of veths) run("ip", ["link", "del", veth], true);
    run("ip", ["link", "del", bridge], true);
  };
  const unregister = atExit(remove);
  try {
    run("ip", ["addr", "add", `${hostIp}/24`, "dev", bridge]);
    run("ip", ["link", "set", bridge, "up"]);
  } catch (err) {
    remove();
    throw err;
  }
  return {
    hostIp,
    peers,
    addPeer(): ShapedPeer {
      const index = peers.length + 1;
      if (index > MAX_PEERS) throw new RangeError(`a shaped network holds at most ${MAX_PEERS} peers`);
      const name = `ap2pbw${tag}-${index}`;
      const hostEnd = `aw${tag}${index}`;
      const ip = `10.215.${subnet}.${index + 1}`;
      run("ip", ["netns", "add", name]);
      namespaces.push(name);
      run("ip", ["link", "add", hostEnd, "type", "veth", "peer", "name", "eth0", "netns", name]);
      veths.push(hostEnd);
      run("ip", ["link", "set", hostEnd, "master", bridge, "up"]);
      run("ip", ["-n", name, "addr", "add", `${ip}/24`, "dev", "eth0"]);
      run("ip", ["-n", name, "link", "set", "eth0", "up"]);
      run("ip", ["-n", name, "link", "set", "lo", "up"]);
      // The host end sends what the peer downloads; the namespace end what it uploads.
      run("tc", ["qdisc", "add", "dev", hostEnd, "root", ...bucket]);
      run("ip", ["netns", "exec", name, "tc", "qdisc", "add", "dev", "eth0", "root", ...bucket]);
      const peer = { name, ip };
      peers.push(peer);
      return peer;
    },
    remove,
  };
}
