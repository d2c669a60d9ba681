/**
 * Peers as block sources. For each block the engine asks `candidates(request)` for its peer sources:
 * the peers above this sidecar in the block's rendezvous ranking, read as a tree (block-tree.ts
 * askOrder: parent, then grandparent, or for the owner's children the peer ranked right above them;
 * deeper in the tree the owner after those), or without a fan-out the owner, then the next candidate;
 * then the peers ranked right after this sidecar, for a copy they already hold (cached only), unless
 * they are asking this sidecar for the block themselves; the caller appends the registry. The owner,
 * with no peer above it, reads the registry after those probes. With
 * rendezvous hashing a peer that joins takes over only blocks whose owner until then now ranks right
 * after it, so the blocks a newcomer owns come from their previous owner's cache instead of the
 * registry (a Deployment scaled out while its first pods already run; sidecars of one scale-out ready
 * at different moments). Quarantined peers are skipped, and a peer that fails is quarantined.
 */
import {
  type BlockRequest,
  type BlockSource,
  type FetchContext,
  TransferTimeoutError,
} from "../blocks/index.ts";
import { isPeerFault, PeerError } from "./peer-error.ts";
import type { PeerClient } from "./peer-client.ts";
import type { Quarantine } from "./quarantine.ts";
import { askOrder } from "./block-tree.ts";
import { rankPeers } from "./rendezvous.ts";
import type { PeerId, PeerViewProvider } from "./peer-view.ts";
import type { AskingPeers } from "./asking-peers.ts";

export interface PeerSourceContext {
  readonly view: PeerViewProvider;
  readonly client: PeerClient;
  readonly quarantine: Quarantine;
  /** This sidecar's own peer id. */
  readonly self: PeerId;
  readonly blockSize: number;
  /**
   * Peers above this sidecar tried per block (parent and grandparent, or for the owner's children the
   * owner and the peer right above; without a fan-out the owner and the next candidate). Deeper in a
   * tree the owner is asked after them, one more.
   */
  readonly maxCandidates: number;
  /**
   * With a fan-out, a block's ranking is read as a tree (block-tree.ts): each peer asks its parent,
   * then its grandparent, instead of the owner and the next candidate, so that a block reaches N peers
   * through many uploaders instead of all from its owner. Unset: every peer asks the owner.
   */
  readonly fanout?: number;
  /**
   * How long a cached-only probe may take: a copy in memory is sent at once. Past it the probe is a
   * miss (else every probe, and the owner answering a requester after its own probes, would wait a
   * whole transferTimeout on a silent peer).
   */
  readonly cachedProbeTimeoutMs: number;
  /**
   * Peers not probed for a while after a probe ran out of time (backing off like the quarantine), while
   * they stay asked as owners: a silent peer then costs one probe, a busy one loses only its probes.
   */
  readonly slowProbes: Quarantine;
  /**
   * The blocks peers are asking this sidecar for now (its peer server's requests): a peer asking for
   * a block is not probed for a copy of it. Unset: every probe is sent.
   */
  readonly asking?: AskingPeers;
  readonly onFailure?: (peer: PeerId, err: PeerError) => void;
}

/**
 * Peers asked for a copy they hold, after this sidecar in a block's ranking: the one right after it
 * (the previous owner when this sidecar joined later), and one more for a group whose views of each
 * other settled only while its first pulls ran (the first sidecar of a scale-out, alone at its start,
 * reads every block from the registry). A miss costs one small round trip.
 */
export const CACHED_PROBES = 2;

/** One peer asked for blocks of one repository. */
export class PeerBlockSource implements BlockSource {
  readonly kind = "peer";
  readonly id: string;
  readonly peer: PeerId;
  readonly #ctx: PeerSourceContext;
  readonly #host: string;
  readonly #repo: string;
  /** Asks only for a copy the peer holds: a miss is expected and no fault. */
  readonly cachedOnly: boolean;

  constructor(ctx: PeerSourceContext, peer: PeerId, host: string, repo: string, cachedOnly = false) {
    this.#ctx = ctx;
    this.peer = peer;
    this.id = cachedOnly ? `peer ${peer} (cached)` : `peer ${peer}`;
    this.#host = host;
    this.#repo = repo;
    this.cachedOnly = cachedOnly;
  }

  async fetchBlock(request: BlockRequest, signal: AbortSignal, context?: FetchContext): Promise<Uint8Array> {
    const ticket = this.#ctx.view.current().ticket;
    if (ticket === undefined) throw new PeerError("PEER_NO_TICKET", "no peer ticket yet", this.peer);
    if (this.cachedOnly && this.#ctx.asking?.has(request.digest, request.index, this.peer)) {
      // A miss without the round trip: the peer waits on this sidecar for the block.
      throw new PeerError("PEER_UNAVAILABLE", "it is asking this sidecar for the block", this.peer);
    }
    const peerRequest = {
      host: this.#host,
      repo: this.#repo,
      digest: request.digest,
      blobSize: request.blobSize,
      blockSize: this.#ctx.blockSize,
      index: request.index,
      ...(this.cachedOnly && { cachedOnly: true }),
    };
    const deadline = this.cachedOnly ? AbortSignal.timeout(this.#ctx.cachedProbeTimeoutMs) : undefined;
    try {
      const bytes = await this.#ctx.client.fetchBlock(
        this.peer,
        peerRequest,
        ticket,
        deadline ? AbortSignal.any([signal, deadline]) : signal,
        context,
      );
      this.#ctx.quarantine.forgive(this.peer);
      if (this.cachedOnly) this.#ctx.slowProbes.forgive(this.peer);
      return bytes;
    } catch (err) {
      // A probe not answered in time is a miss, not a fault: a peer busy hashing may hold an answer
      // for a second, and quarantining it would send its blocks to the registry. It is only not
      // probed for a while; a silent peer is quarantined by the requests that need it (as an owner).
      const timedOut = deadline?.aborted === true && !signal.aborted;
      if (timedOut) this.#ctx.slowProbes.add(this.peer, "PROBE_TIMEOUT");
      const e = timedOut
        ? new PeerError(
            "PEER_UNAVAILABLE",
            `no cached answer within ${this.#ctx.cachedProbeTimeoutMs} ms`,
            this.peer,
          )
        : err instanceof PeerError
          ? err
          : new PeerError("PEER_PROTOCOL", String(err), this.peer, { cause: err });
      // Aborted by the engine's transfer timer while on the wire (peer-client.ts) is still a fault.
      const stalled = e.peerCode === "PEER_TIMEOUT" && signal.reason instanceof TransferTimeoutError;
      if (isPeerFault(e.peerCode) && (!signal.aborted || stalled)) {
        this.#ctx.quarantine.add(this.peer, e.peerCode);
        // The requests queued behind this one would each wait out the same fault: they move on now.
        this.#ctx.client.giveUpWaiting(this.peer, `quarantined (${e.peerCode})`);
      }
      const expected = e.isAbort() || (this.cachedOnly && e.peerCode === "PEER_UNAVAILABLE");
      if (!expected) this.#ctx.onFailure?.(this.peer, e);
      throw e;
    }
  }
}

/** The peer sources to try for each block of blob in (host, repo), best first. */
export function peerCandidates(
  ctx: PeerSourceContext,
  host: string,
  repo: string,
): (request: BlockRequest) => BlockSource[] {
  return (request) => {
    const ranked = rankedWithTicket(ctx, request);
    if (ranked === undefined) return [];
    const at = ranked.indexOf(ctx.self);
    const above = at < 0 ? ranked : ctx.fanout ? askOrder(ranked, at, ctx.fanout) : ranked.slice(0, at);
    const usable = above.filter((peer) => !ctx.quarantine.has(peer));
    const asked = usable.slice(0, ctx.maxCandidates);
    // Deep in a tree, the owner last: when the parent and the grandparent both fail (peers leaving
    // one after the other on the same branch), the owner has the block or is fetching it, and asking
    // it keeps the requester from reading the block from the registry a second time.
    const owner = ranked[0];
    if (owner !== undefined && owner !== ctx.self && usable.includes(owner) && !asked.includes(owner)) {
      asked.push(owner);
    }
    const sources = asked.map((peer) => new PeerBlockSource(ctx, peer, host, repo));
    return [...sources, ...heldCopies(ctx, ranked, host, repo)];
  };
}

/**
 * The owner side's peers before block trees: the peers ranked after this sidecar for a block, asked
 * for a copy they hold before it fetches the block from the registry for a requester. With a block
 * tree the owner side takes `peerCandidates` instead; the simulator still runs the design without.
 */
export function cachedCandidates(
  ctx: PeerSourceContext,
  host: string,
  repo: string,
): (request: BlockRequest) => BlockSource[] {
  return (request) => {
    const ranked = rankedWithTicket(ctx, request);
    return ranked === undefined ? [] : heldCopies(ctx, ranked, host, repo);
  };
}

/** The group's peers ranked for the block, or undefined while this sidecar has no ticket to ask them. */
function rankedWithTicket(ctx: PeerSourceContext, request: BlockRequest): readonly PeerId[] | undefined {
  const view = ctx.view.current();
  return view.ticket === undefined ? undefined : rankPeers(request.digest, request.index, view.peers);
}

/** Cached-only sources of the usable peers ranked right after this sidecar (none if it is not listed). */
function heldCopies(
  ctx: PeerSourceContext,
  ranked: readonly PeerId[],
  host: string,
  repo: string,
): BlockSource[] {
  const at = ranked.indexOf(ctx.self);
  if (at < 0) return [];
  return ranked
    .slice(at + 1)
    .filter((peer) => !ctx.quarantine.has(peer) && !ctx.slowProbes.has(peer))
    .slice(0, CACHED_PROBES)
    .map((peer) => new PeerBlockSource(ctx, peer, host, repo, true));
}

/** A peer that served a wrong block stays out this many times as long as one that failed. */
const LIAR_SEVERITY = 4;

/**
 * The engine traced a digest mismatch to a block `source` served: when that is a peer, it is
 * quarantined (LIAR_SEVERITY). Returns the peer, or undefined for another source (the registry).
 */
export function quarantineLiar(quarantine: Quarantine, source: BlockSource | undefined): PeerId | undefined {
  if (!(source instanceof PeerBlockSource)) return undefined;
  quarantine.add(source.peer, "DIGEST_MISMATCH", LIAR_SEVERITY);
  return source.peer;
}
