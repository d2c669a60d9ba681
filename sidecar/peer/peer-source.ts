/**
 * The peer BlockSource of one blob: asks the block's owner (rendezvous hashing over the ready peers
 * of the group), then the next candidate, and gives up so the engine falls back to the registry. It
 * gives up at once when this sidecar is itself the first usable candidate: then fetching from the
 * registry is exactly what the owner would do. Peers that fail are quarantined; the peer that served
 * each block is remembered until the blob verifies, so a lie can be pinned on the peer that told it.
 */
import type { BlockRequest, BlockSource } from "../blocks/block-source.ts";
import { isPeerFault, PeerError } from "./peer-error.ts";
import type { PeerClient } from "./peer-client.ts";
import type { Quarantine } from "./quarantine.ts";
import { rankPeers } from "./rendezvous.ts";
import type { PeerId, PeerViewProvider } from "./peer-view.ts";

export interface PeerSourceContext {
  readonly view: PeerViewProvider;
  readonly client: PeerClient;
  readonly quarantine: Quarantine;
  /** This sidecar's own peer id. */
  readonly self: PeerId;
  readonly blockSize: number;
  /** Peers tried per block before the registry (owner + next candidate = 2). */
  readonly maxCandidates: number;
  readonly provenance: BlockProvenance;
  readonly onFailure?: (peer: PeerId, err: PeerError) => void;
}

/** Which peer served which block, bounded: entries live until the blob verifies or falls out. */
export class BlockProvenance {
  readonly #served = new Map<string, PeerId>();
  readonly #limit: number;
  constructor(limit = 65_536) {
    this.#limit = limit;
  }
  set(digest: string, index: number, peer: PeerId): void {
    const key = `${digest}/${index}`;
    this.#served.delete(key);
    this.#served.set(key, peer);
    if (this.#served.size > this.#limit) this.#served.delete(this.#served.keys().next().value as string);
  }
  take(digest: string, index: number): PeerId | undefined {
    const key = `${digest}/${index}`;
    const peer = this.#served.get(key);
    this.#served.delete(key);
    return peer;
  }
}

export class PeerBlockSource implements BlockSource {
  readonly kind = "peer";
  readonly #ctx: PeerSourceContext;
  readonly #host: string;
  readonly #repo: string;

  constructor(ctx: PeerSourceContext, host: string, repo: string) {
    this.#ctx = ctx;
    this.#host = host;
    this.#repo = repo;
  }

  async fetchBlock(request: BlockRequest, signal: AbortSignal): Promise<Uint8Array> {
    const { view, quarantine, self, client } = this.#ctx;
    const current = view.current();
    if (current.ticket === undefined) throw new PeerError("PEER_NONE", "no peer ticket yet");
    const peerRequest = {
      host: this.#host,
      repo: this.#repo,
      digest: request.digest,
      blobSize: request.blobSize,
      blockSize: this.#ctx.blockSize,
      index: request.index,
    };
    let tried = 0;
    let last: PeerError | undefined;
    for (const peer of rankPeers(request.digest, request.index, current.peers)) {
      if (tried >= this.#ctx.maxCandidates) break;
      if (quarantine.has(peer)) continue;
      if (peer === self) break;
      tried++;
      try {
        const bytes = await client.fetchBlock(peer, peerRequest, current.ticket, signal);
        this.#ctx.provenance.set(request.digest, request.index, peer);
        quarantine.forgive(peer);
        return bytes;
      } catch (err) {
        const e =
          err instanceof PeerError ? err : new PeerError("PEER_PROTOCOL", String(err), peer, { cause: err });
        if (e.code === "PEER_ABORTED") throw e;
        if (isPeerFault(e.code)) quarantine.add(peer, e.code);
        this.#ctx.onFailure?.(peer, e);
        last = e;
      }
    }
    throw last ?? new PeerError("PEER_NONE", "no peer to ask for this block");
  }

  /** The engine found block `index` of `digest`, served by this source, to be wrong. */
  reportBadBlock(digest: string, index: number): PeerId | undefined {
    const peer = this.#ctx.provenance.take(digest, index);
    if (peer !== undefined) this.#ctx.quarantine.add(peer, "DIGEST_MISMATCH", 4);
    return peer;
  }
}
