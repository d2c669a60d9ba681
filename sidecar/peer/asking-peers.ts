/**
 * The blocks peers are asking this sidecar for right now (the peer server's requests in progress), by
 * the asking peer's address. A peer waiting on this sidecar for a block holds no copy of it, so a
 * cached-only probe of that peer for the block (peer-source.ts) is a round trip sure to miss. It is
 * the common case: in a scale-out where the sidecars start together, the peers an owner probes before
 * the registry (the two ranked right after it) are its children in the block's tree, the very peers
 * that ask it for the block.
 *
 * Peers are matched by address alone (a request's source port is not its block server's port): two
 * sidecars on one address (tests) only lose a probe, which is never needed for correctness.
 */
import { peerHost, type PeerId } from "./peer-view.ts";

export class AskingPeers {
  /** Block key -> asking address -> requests in progress. */
  readonly #asking = new Map<string, Map<string, number>>();

  /** `address` asks for block `index` of `digest` until the returned function is called (once). */
  add(digest: string, index: number, address: string | undefined): () => void {
    const host = normalizeAddress(address ?? "");
    if (host === "") return () => undefined;
    const key = `${digest}/${index}`;
    const hosts = this.#asking.get(key) ?? new Map<string, number>();
    this.#asking.set(key, hosts);
    hosts.set(host, (hosts.get(host) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const left = (hosts.get(host) ?? 1) - 1;
      if (left > 0) hosts.set(host, left);
      else hosts.delete(host);
      if (hosts.size === 0 && this.#asking.get(key) === hosts) this.#asking.delete(key);
    };
  }

  /** Whether `peer` is asking this sidecar for block `index` of `digest` now. */
  has(digest: string, index: number, peer: PeerId): boolean {
    const hosts = this.#asking.get(`${digest}/${index}`);
    return hosts !== undefined && hosts.has(normalizeAddress(peerHost(peer)));
  }

  /** Blocks with a request in progress (for tests: nothing stays behind once requests end). */
  get size(): number {
    return this.#asking.size;
  }
}

/** One spelling per address: lower case, IPv4 without its IPv6-mapped prefix (a socket's address). */
function normalizeAddress(address: string): string {
  const lower = address.toLowerCase();
  return lower.startsWith("::ffff:") && lower.includes(".") ? lower.slice("::ffff:".length) : lower;
}
