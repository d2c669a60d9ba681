/**
 * One sidecar as the simulator sees it: its links, its view of the group, its block cache (LRU by
 * bytes), its single-flight table and fetch slots, and the sidecar's own rules for which peers to ask
 * for a block (sidecar/peer/peer-source.ts, run unchanged over this peer's view and quarantine).
 */
import type { BlockRequest } from "../../sidecar/blocks/index.ts";
import { CONNECTIONS_PER_PEER, PROBE_CONNECTIONS, type PeerClient } from "../../sidecar/peer/peer-client.ts";
import {
  CACHED_PROBE_TIMEOUT_MS,
  PEER_CANDIDATES,
  QUARANTINE_BASE_MS,
  QUARANTINE_MAX_MS,
} from "../../sidecar/peer/peer-network.ts";
import {
  cachedCandidates,
  PeerBlockSource,
  peerCandidates,
  type PeerSourceContext,
} from "../../sidecar/peer/peer-source.ts";
import type { BlockSource } from "../../sidecar/blocks/index.ts";
import type { PeerViewProvider } from "../../sidecar/peer/peer-view.ts";
import { Quarantine } from "../../sidecar/peer/quarantine.ts";
import { AskingPeers } from "../../sidecar/peer/asking-peers.ts";
import { CONNECTIONS_PER_ORIGIN } from "../../sidecar/upstream/http-transport.ts";

/** Where a block comes from, in the order a sidecar tries them. */
export type SimSource =
  | { readonly kind: "peer"; readonly peer: string; readonly cachedOnly: boolean }
  | { readonly kind: "origin" };

const ORIGIN: SimSource = { kind: "origin" };

/** The key of the registry among a peer's connection limits. */
export const ORIGIN_KEY = "origin";

/** Called once a fetch is over: true with the block in the cache, false when every source failed. */
export type FetchDone = (ok: boolean) => void;

export class SimPeer {
  readonly id: string;
  readonly index: number;
  /** Link indexes in FluidLinks: this peer's upload and download. */
  readonly up: number;
  readonly down: number;
  alive = true;
  readonly startedAt: number;
  doneAt: number | undefined;
  failed = false;
  /** The group as this peer sees it (arrays shared between peers that agree, as rankPeers expects). */
  view: readonly string[];
  readonly quarantine: Quarantine;
  readonly slowProbes: Quarantine;
  /** The blocks peers wait on this peer for (its peer server's requests in progress). */
  readonly asking = new AskingPeers();
  /** Bytes this peer sent to other peers. */
  uploaded = 0;
  /** Fetches in flight, by block key, with everyone waiting for each. */
  readonly inflight = new Map<string, FetchDone[]>();
  /** Blocks beyond each stream's next two that its streams may still fetch (the engine-wide budget). */
  budgetBlocks: number;
  readonly #cache = new Map<string, number>();
  readonly #cacheCap: number;
  #cacheBytes = 0;
  #freeSlots: number;
  readonly #slotQueue: (() => void)[] = [];
  /** Requests in flight to each peer (and the registry), each on its own connection, and those waiting. */
  readonly #connections = new Map<string, { busy: number; readonly waiting: (() => void)[] }>();
  readonly #owned: (request: BlockRequest) => BlockSource[];
  readonly #held: (request: BlockRequest) => BlockSource[];
  readonly #tree: boolean;

  constructor(opts: {
    id: string;
    index: number;
    startedAt: number;
    view: readonly string[];
    cacheBytes: number;
    slots: number;
    budgetBlocks: number;
    /** The block tree's fan-out (peer-source.ts); undefined: every peer asks the owner. */
    fanout: number | undefined;
    /** The simulated clock, ms (quarantine periods run on it). */
    nowMs: () => number;
  }) {
    this.id = opts.id;
    this.index = opts.index;
    this.up = 2 * opts.index;
    this.down = 2 * opts.index + 1;
    this.startedAt = opts.startedAt;
    this.view = opts.view;
    this.#cacheCap = opts.cacheBytes;
    this.#freeSlots = opts.slots;
    this.budgetBlocks = opts.budgetBlocks;
    this.quarantine = new Quarantine({
      baseMs: QUARANTINE_BASE_MS,
      maxMs: QUARANTINE_MAX_MS,
      now: opts.nowMs,
    });
    this.slowProbes = new Quarantine({
      baseMs: QUARANTINE_BASE_MS,
      maxMs: QUARANTINE_MAX_MS,
      now: opts.nowMs,
    });
    const ctx: PeerSourceContext = {
      view: this.#viewProvider(),
      // The simulator reads which peers to ask; it never calls their fetchBlock.
      client: undefined as unknown as PeerClient,
      quarantine: this.quarantine,
      self: this.id,
      blockSize: 0,
      maxCandidates: PEER_CANDIDATES,
      cachedProbeTimeoutMs: CACHED_PROBE_TIMEOUT_MS,
      slowProbes: this.slowProbes,
      asking: this.asking,
      ...(opts.fanout !== undefined && { fanout: opts.fanout }),
    };
    this.#tree = opts.fanout !== undefined;
    // Host and repository only label requests; one image, one repository.
    this.#owned = peerCandidates(ctx, "registry", "repo");
    this.#held = cachedCandidates(ctx, "registry", "repo");
  }

  /** The sources this peer tries for a block of its own pull: peers first, the registry last. */
  sourcesForOwnFetch(request: BlockRequest): SimSource[] {
    return [...this.#owned(request).map(asSimSource), ORIGIN];
  }

  /**
   * The sources this peer tries when a requester asks it for a block it lacks: as the owner, the peers
   * ranked after it (cached only); in a block tree, its own ancestors, as for its own pull.
   */
  sourcesAsOwner(request: BlockRequest): SimSource[] {
    return this.#tree ? this.sourcesForOwnFetch(request) : [...this.#held(request).map(asSimSource), ORIGIN];
  }

  has(key: string): boolean {
    return this.#cache.has(key);
  }

  /** Marks a cached block as just used (LRU). */
  touch(key: string): void {
    const bytes = this.#cache.get(key);
    if (bytes === undefined) return;
    this.#cache.delete(key);
    this.#cache.set(key, bytes);
  }

  store(key: string, bytes: number): void {
    if (this.#cache.has(key)) return this.touch(key);
    this.#cache.set(key, bytes);
    this.#cacheBytes += bytes;
    for (const [oldest, size] of this.#cache) {
      if (this.#cacheBytes <= this.#cacheCap) break;
      this.#cache.delete(oldest);
      this.#cacheBytes -= size;
    }
  }

  /** Runs `start` once a fetch slot is free (proxyFsParallels); releaseSlot() gives it back. */
  withSlot(start: () => void): void {
    if (this.#freeSlots > 0) {
      this.#freeSlots--;
      start();
    } else this.#slotQueue.push(start);
  }

  releaseSlot(): void {
    const next = this.#slotQueue.shift();
    if (next) next();
    else this.#freeSlots++;
  }

  /**
   * Runs `start` once a connection to `to` (a peer id or ORIGIN_KEY) is free: HTTP/1.1, one request per
   * connection, at most CONNECTIONS_PER_PEER to a peer (peer-client.ts) and CONNECTIONS_PER_ORIGIN to
   * the registry (http-transport.ts). An `urgent` request (a probe) waits at the head of the queue.
   * releaseConnection() gives it back; cancel() leaves the queue.
   */
  withConnection(to: string, start: () => void, urgent = false): { cancel(): boolean } {
    const c = this.#connectionsTo(to);
    if (c.busy < (to === ORIGIN_KEY ? CONNECTIONS_PER_ORIGIN : CONNECTIONS_PER_PEER)) {
      c.busy++;
      start();
      return { cancel: () => false };
    }
    const waiting = c.waiting;
    if (urgent) waiting.unshift(start);
    else waiting.push(start);
    return {
      /** Leaves the queue (a request whose deadline passed); false if it already has its connection. */
      cancel: () => {
        const at = waiting.indexOf(start);
        if (at >= 0) waiting.splice(at, 1);
        return at >= 0;
      },
    };
  }

  /**
   * A probe's connection (peer-client.ts): runs `start` on a free connection to `to`, opening up to
   * PROBE_CONNECTIONS beyond the cap, and returns true; false when none is to be had at once.
   */
  tryProbeConnection(to: string, start: () => void): boolean {
    const c = this.#connectionsTo(to);
    if (c.busy >= CONNECTIONS_PER_PEER + PROBE_CONNECTIONS) return false;
    c.busy++;
    start();
    return true;
  }

  releaseConnection(to: string): void {
    const c = this.#connectionsTo(to);
    const next = c.waiting.shift();
    if (next) next();
    else c.busy--;
  }

  #connectionsTo(to: string): { busy: number; readonly waiting: (() => void)[] } {
    let c = this.#connections.get(to);
    if (c === undefined) this.#connections.set(to, (c = { busy: 0, waiting: [] }));
    return c;
  }

  #viewProvider(): PeerViewProvider {
    return {
      current: () => ({ group: "sim", peers: this.view, ticket: "sim" }),
      verifier: undefined as unknown as PeerViewProvider["verifier"],
      close: async () => undefined,
    };
  }
}

function asSimSource(source: BlockSource): SimSource {
  if (!(source instanceof PeerBlockSource)) throw new Error(`unexpected source ${source.id}`);
  return { kind: "peer", peer: source.peer, cachedOnly: source.cachedOnly };
}
