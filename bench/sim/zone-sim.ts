/**
 * A deterministic simulation of one zone pulling one image through its sidecars: N peers with capped
 * upload and download, an origin capped in total, and the data plane's rules taken from the sidecar
 * itself (sim-peer.ts: rendezvous ranking, the block tree or the owner alone, cached-only probes of the
 * peers ranked after, the registry last, quarantine). What it models of each sidecar:
 *
 * - each blob is read in order with the engine's readahead (two blocks, then one more per block
 *   released, up to `readaheadBlocks`; blocks past the next two borrow from an engine-wide budget), as
 *   sidecar/blocks/block-readable.ts does, and the pull client takes every block at once (loopback);
 * - a block is fetched once per sidecar (single-flight), holding one of `slots` fetch slots;
 * - a peer asked for a block it lacks fetches it into its cache (in a block tree from the peers above
 *   it, as for its own pull; as the owner from the peers ranked after it, cached only, then the
 *   registry), then sends it; the cache is an LRU of `cacheBytes`;
 * - every request costs a round trip before its bytes flow; bytes share links max-min fairly
 *   (fluid-links.ts), optionally also one host CPU that every flow crosses (the benchmark machine).
 *
 * Churn: peers chosen by a seeded generator leave (their transfers fail, requesters quarantine them and
 * move on, the others' views drop them `viewLagS` later) and new peers join (start their own pull, enter
 * the others' views `viewLagS` later). Nothing is random but that choice, made by a seeded generator,
 * so a run is repeatable.
 */
import {
  blockCount,
  blockRequest,
  type BlobDescriptor,
  type BlockRequest,
} from "../../sidecar/blocks/index.ts";
import { CACHED_PROBE_TIMEOUT_MS } from "../../sidecar/peer/peer-network.ts";
import { peerHost } from "../../sidecar/peer/peer-view.ts";
import { FluidLinks, NO_LINK, type FlowEnd } from "./fluid-links.ts";
import { ORIGIN_KEY, SimPeer, type FetchDone, type SimSource } from "./sim-peer.ts";
import { prng } from "../../test/support/prng.ts";
import { Timers } from "./timers.ts";

export interface ZoneSimOptions {
  readonly n: number;
  readonly blobs: readonly BlobDescriptor[];
  readonly blockSizeBytes: number;
  /** Each peer's cap, each way. */
  readonly peerBytesPerSec: number;
  /** The origin's cap, in total. */
  readonly originBytesPerSec: number;
  /** A peer request's round trip before its bytes flow. */
  readonly peerRequestS: number;
  /** A registry request's round trip before its bytes flow. */
  readonly originRequestS: number;
  /** From a pull's start to its first block request (manifest, the blobs' HEADs). */
  readonly pullStartS: number;
  readonly cacheBytes: number;
  readonly readaheadBlocks: number;
  readonly readaheadBudgetBlocks: number;
  /** Fetches in flight per sidecar (proxyFsParallels, as the memory budget limits it). */
  readonly slots: number;
  /** Bytes per second all flows together may move: one machine's CPU running every peer. */
  readonly hostBytesPerSec?: number;
  readonly churn?: ChurnOptions;
  readonly viewLagS: number;
  /** The block tree's fan-out (sidecar/peer/block-tree.ts); undefined: every peer asks the owner. */
  readonly fanout?: number;
  /** Probes queue behind block requests for a busy connection, as before 2026-12-06. */
  readonly probesQueue?: boolean;
  /** Simulation step. */
  readonly stepS: number;
}

export interface ChurnOptions {
  /** Share of the N peers that leave, and of N that join, at instants spread over `windowS`. */
  readonly leave: number;
  readonly join: number;
  readonly windowS: number;
  readonly seed: number;
}

export interface ZoneSimResult {
  /** Pull times (s) of every peer that stayed and finished, newcomers included. */
  readonly pulls: readonly number[];
  /** Peers that stayed but whose pull failed or never finished. */
  readonly incomplete: number;
  readonly left: number;
  readonly joined: number;
  readonly originBytes: number;
  /** Bytes each peer that stayed sent to other peers. */
  readonly uploads: readonly number[];
  readonly simulatedS: number;
}

interface Stream {
  readonly blob: BlobDescriptor;
  readonly last: number;
  next: number;
  fetched: number;
  readonly ready: Uint8Array;
  readonly borrowed: Set<number>;
}

/** Gives up on a run that simulated this many times the slowest plausible pull. */
const MAX_SIM_S = 3600;

export function simulateZone(opts: ZoneSimOptions): ZoneSimResult {
  return new ZoneSim(opts).run();
}

class ZoneSim {
  readonly #o: ZoneSimOptions;
  readonly #timers = new Timers();
  readonly #links: FluidLinks;
  readonly #originLink: number;
  readonly #peers: SimPeer[] = [];
  readonly #byId = new Map<string, SimPeer>();
  readonly #streams = new Map<SimPeer, Stream[]>();
  #now = 0;
  #originBytes = 0;
  #unfinished = 0;
  #pendingJoins = 0;
  #left = 0;
  #joined = 0;

  constructor(opts: ZoneSimOptions) {
    this.#o = opts;
    const joins = opts.churn ? Math.floor(opts.churn.join * opts.n) : 0;
    const maxPeers = opts.n + joins;
    const capacity: number[] = [];
    for (let i = 0; i < maxPeers; i++) capacity.push(opts.peerBytesPerSec, opts.peerBytesPerSec);
    this.#originLink = capacity.length;
    capacity.push(opts.originBytesPerSec);
    let shared = NO_LINK;
    if (opts.hostBytesPerSec !== undefined) {
      shared = capacity.length;
      capacity.push(opts.hostBytesPerSec);
    }
    this.#links = new FluidLinks(capacity, shared);
  }

  run(): ZoneSimResult {
    const o = this.#o;
    const ids = Array.from({ length: o.n }, (_, i) => peerName(i));
    const view = Object.freeze(ids);
    for (let i = 0; i < o.n; i++) this.#startPeer(i, view);
    if (o.churn) this.#scheduleChurn(o.churn);
    while (this.#unfinished > 0 || this.#pendingJoins > 0) {
      this.#timers.runDue(this.#now);
      if (this.#links.active === 0) {
        const next = this.#timers.next();
        if (next === Infinity) break;
        this.#now = Math.max(this.#now, next);
        continue;
      }
      const end = this.#now + o.stepS;
      for (const { end: flow, at } of this.#links.step(this.#now, o.stepS)) {
        this.#now = at;
        flow.done(at);
      }
      this.#now = end;
      if (this.#now > MAX_SIM_S) throw new Error(`simulation passed ${MAX_SIM_S} s: a pull is stuck`);
    }
    const stayed = this.#peers.filter((p) => p.alive);
    return {
      pulls: stayed.filter((p) => p.doneAt !== undefined).map((p) => p.doneAt! - p.startedAt),
      incomplete: stayed.filter((p) => p.doneAt === undefined).length,
      left: this.#left,
      joined: this.#joined,
      originBytes: this.#originBytes,
      uploads: stayed.map((p) => p.uploaded),
      simulatedS: this.#now,
    };
  }

  #startPeer(index: number, view: readonly string[]): void {
    const o = this.#o;
    const peer = new SimPeer({
      id: peerName(index),
      index,
      startedAt: this.#now,
      view,
      cacheBytes: o.cacheBytes,
      slots: o.slots,
      budgetBlocks: o.readaheadBudgetBlocks,
      fanout: o.fanout,
      nowMs: () => this.#now * 1000,
    });
    this.#peers.push(peer);
    this.#byId.set(peer.id, peer);
    this.#unfinished++;
    this.#after(o.pullStartS, peer, () => {
      const streams = o.blobs.map((blob) => {
        const blocks = blockCount(blob.size, o.blockSizeBytes);
        return {
          blob,
          last: blocks - 1,
          next: 0,
          fetched: 0,
          ready: new Uint8Array(blocks),
          borrowed: new Set<number>(),
        };
      });
      this.#streams.set(peer, streams);
      for (const stream of streams) this.#advance(peer, stream);
    });
  }

  /** Releases the blocks that arrived in order, then opens the window further (block-readable.ts). */
  #advance(peer: SimPeer, s: Stream): void {
    while (s.next <= s.last && s.ready[s.next] === 1) {
      if (s.borrowed.delete(s.next)) peer.budgetBlocks++;
      s.next++;
    }
    if (s.next > s.last) return this.#streamDone(peer);
    const window = Math.min(this.#o.readaheadBlocks, 2 + s.next);
    const limit = Math.min(s.last, s.next + window - 1);
    for (; s.fetched <= limit; s.fetched++) {
      if (s.fetched > s.next + 1) {
        if (peer.budgetBlocks === 0) break;
        peer.budgetBlocks--;
        s.borrowed.add(s.fetched);
      }
      const index = s.fetched;
      this.#fetch(
        peer,
        s.blob,
        index,
        (r) => peer.sourcesForOwnFetch(r),
        (ok) => {
          if (!peer.alive || peer.doneAt !== undefined || peer.failed) return;
          if (!ok) return this.#pullFailed(peer);
          s.ready[index] = 1;
          this.#advance(peer, s);
        },
      );
    }
  }

  #streamDone(peer: SimPeer): void {
    if (peer.doneAt !== undefined) return;
    const streams = this.#streams.get(peer)!;
    if (streams.every((s) => s.next > s.last)) {
      peer.doneAt = this.#now;
      this.#unfinished--;
    }
  }

  #pullFailed(peer: SimPeer): void {
    peer.failed = true;
    this.#unfinished--;
  }

  /** A block into `peer`'s cache once (single-flight), from the first of `sourcesOf` that has it. */
  #fetch(
    peer: SimPeer,
    blob: BlobDescriptor,
    index: number,
    sourcesOf: (request: BlockRequest) => SimSource[],
    done: FetchDone,
  ): void {
    if (!peer.alive) return done(false);
    const key = `${blob.digest}/${index}`;
    if (peer.has(key)) {
      peer.touch(key);
      // Answered on the next turn, as the engine's promise is: the caller's loop is not re-entered.
      return this.#timers.at(this.#now, () => done(true));
    }
    const waiting = peer.inflight.get(key);
    if (waiting) return void waiting.push(done);
    peer.inflight.set(key, [done]);
    peer.withSlot(() => {
      if (!peer.alive) return;
      const request = blockRequest(blob, index, this.#o.blockSizeBytes);
      this.#trySources(peer, request, sourcesOf(request), 0, (ok) => {
        peer.releaseSlot();
        if (ok) peer.store(key, request.length);
        const waiters = peer.inflight.get(key) ?? [];
        peer.inflight.delete(key);
        for (const w of waiters) w(ok);
      });
    });
  }

  #trySources(peer: SimPeer, request: BlockRequest, sources: SimSource[], at: number, done: FetchDone): void {
    if (!peer.alive) return;
    if (at >= sources.length) return done(false);
    const source = sources[at]!;
    const to = source.kind === "origin" ? ORIGIN_KEY : source.peer;
    const tryNext = (): void => this.#trySources(peer, request, sources, at + 1, done);
    const start = (): void => {
      if (!peer.alive) return;
      const next = (ok: boolean): void => {
        if (!peer.alive) return;
        peer.releaseConnection(to);
        if (ok) done(true);
        else tryNext();
      };
      if (source.kind === "origin") this.#fromOrigin(peer, request, next);
      else this.#fromPeer(peer, source.peer, source.cachedOnly, request, next);
    };
    const probe = source.kind === "peer" && source.cachedOnly;
    // A peer waiting on this one for the block is not probed for it (peer-source.ts): a miss at once.
    if (probe && peer.asking.has(request.digest, request.index, source.peer)) return tryNext();
    // A probe takes a free connection, or one of PROBE_CONNECTIONS past the cap (peer-client.ts).
    if (probe && this.#o.probesQueue !== true && peer.tryProbeConnection(to, start)) return;
    // Else it waits: at the head of the queue (before 2026-12-06, with `probesQueue`, at its tail).
    const queued = peer.withConnection(to, start, probe && this.#o.probesQueue !== true);
    // A probe has a deadline, and waiting for a connection counts: past it the probe is a miss and
    // that peer is not probed for a while (peer-source.ts).
    if (probe) {
      this.#after(CACHED_PROBE_TIMEOUT_MS / 1000, peer, () => {
        if (!queued.cancel()) return;
        peer.slowProbes.add(source.peer, "PROBE_TIMEOUT");
        tryNext();
      });
    }
  }

  #fromOrigin(peer: SimPeer, request: BlockRequest, next: (ok: boolean) => void): void {
    this.#after(this.#o.originRequestS, peer, () =>
      this.#flow(this.#originLink, peer, request.length, {
        done: () => {
          this.#originBytes += request.length;
          next(true);
        },
        failed: () => next(false),
      }),
    );
  }

  /** One block request to a peer: sent at once if it holds the block, else (as owner) fetched first. */
  #fromPeer(
    peer: SimPeer,
    id: string,
    cachedOnly: boolean,
    request: BlockRequest,
    next: (ok: boolean) => void,
  ): void {
    const half = this.#o.peerRequestS / 2;
    const from = this.#byId.get(id);
    this.#after(half, peer, () => {
      if (from === undefined || !from.alive) {
        // Connection refused: a fault, quarantined like the sidecar does.
        peer.quarantine.add(id, "PEER_UNAVAILABLE");
        return this.#after(half, peer, () => next(false));
      }
      const key = `${request.digest}/${request.index}`;
      const send = (): void =>
        this.#flow(from.up, peer, request.length, {
          done: () => {
            from.uploaded += request.length;
            next(true);
          },
          failed: () => {
            if (!from.alive) peer.quarantine.add(from.id, "PEER_UNAVAILABLE");
            next(false);
          },
        });
      if (from.has(key)) {
        from.touch(key);
        return send();
      }
      // A cached-only probe is a miss at once: it never joins a fetch in flight.
      if (cachedOnly) return this.#after(half, peer, () => next(false));
      const blob = { digest: request.digest, size: request.blobSize };
      const stopAsking = from.asking.add(request.digest, request.index, peerHost(peer.id));
      this.#fetch(
        from,
        blob,
        request.index,
        (r) => from.sourcesAsOwner(r),
        (ok) => {
          stopAsking();
          if (ok && from.alive) send();
          else this.#after(half, peer, () => next(false));
        },
      );
    });
  }

  /** Starts `bytes` flowing from link `up` into `to`'s download; a peer leaving fails it. */
  #flow(up: number, to: SimPeer, bytes: number, end: FlowEnd): void {
    if (to.alive) this.#links.start(up, to.down, bytes, end);
  }

  /** Runs `then` after `delay` seconds, unless `peer` has left by then. */
  #after(delay: number, peer: SimPeer, then: () => void): void {
    this.#timers.at(this.#now + delay, () => {
      if (peer.alive) then();
    });
  }

  #scheduleChurn(churn: ChurnOptions): void {
    const random = prng(churn.seed);
    const leaving = Math.floor(churn.leave * this.#o.n);
    const order = Array.from({ length: this.#o.n }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (const index of order.slice(0, leaving)) {
      this.#timers.at(random() * churn.windowS, () => this.#leave(this.#peers[index]!));
    }
    const joining = Math.floor(churn.join * this.#o.n);
    for (let j = 0; j < joining; j++) {
      this.#pendingJoins++;
      this.#timers.at(random() * churn.windowS, () => {
        this.#pendingJoins--;
        this.#joined++;
        const view = Object.freeze([...this.#published(), peerName(this.#o.n + j)]);
        this.#startPeer(this.#o.n + j, view);
        this.#timers.at(this.#now + this.#o.viewLagS, () => this.#publish());
      });
    }
  }

  #leave(peer: SimPeer): void {
    if (!peer.alive) return;
    peer.alive = false;
    this.#left++;
    if (peer.doneAt === undefined && !peer.failed) this.#unfinished--;
    const dropped = [...this.#links.cancelCrossing(peer.up), ...this.#links.cancelCrossing(peer.down)];
    for (const flow of dropped) flow.failed();
    // Requesters waiting for this peer's fetches learn it is gone (their connection closes).
    for (const waiters of peer.inflight.values()) for (const w of waiters) w(false);
    peer.inflight.clear();
    this.#timers.at(this.#now + this.#o.viewLagS, () => this.#publish());
  }

  /** The directory's current answer: every peer still there. */
  #published(): string[] {
    return this.#peers.filter((p) => p.alive).map((p) => p.id);
  }

  /** Every peer's view becomes the directory's answer (one array, so rankings are shared). */
  #publish(): void {
    const view = Object.freeze(this.#published());
    for (const p of this.#peers) if (p.alive) p.view = view;
  }
}

function peerName(index: number): string {
  return `10.${index >> 8}.${index & 255}.1:65002`;
}
