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
import { createHostBridge, run } from "../node/host-bridge.ts";

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
  const host = createHostBridge(`ap2pbw${tag}`, ["10.215."]);
  const peers: ShapedPeer[] = [];
  return {
    hostIp: host.hostIp,
    peers,
    addPeer(): ShapedPeer {
      const index = peers.length + 1;
      if (index > MAX_PEERS) throw new RangeError(`a shaped network holds at most ${MAX_PEERS} peers`);
      const name = `ap2pbw${tag}-${index}`;
      const hostEnd = `aw${tag}${index}`;
      const ip = `10.215.${host.subnet}.${index + 1}`;
      host.addNamespace(name, hostEnd, ip);
      // The host end sends what the peer downloads; the namespace end what it uploads.
      run("tc", ["qdisc", "add", "dev", hostEnd, "root", ...bucket]);
      run("ip", ["netns", "exec", name, "tc", "qdisc", "add", "dev", "eth0", "root", ...bucket]);
      const peer = { name, ip };
      peers.push(peer);
      return peer;
    },
    remove: host.remove,
  };
}
