/**
 * Peers as block sources. For each block the engine asks `candidates(request)` for its peer sources:
 * the owner (rendezvous hashing over the ready peers of the group), then the next candidate; the
 * caller appends the registry. The list stops early when this sidecar is itself the next usable
 * candidate: fetching from the registry is then exactly what that candidate would do. Quarantined
 * peers are skipped, and a peer that fails is quarantined.
 */
import type { BlockRequest, BlockSource, FetchContext } from "../blocks/block-source.ts";
import type { MismatchReport } from "../blocks/errors.ts";
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
  readonly onFailure?: (peer: PeerId, err: PeerError) => void;
}

/** One peer asked for blocks of one repository. */
export class PeerBlockSource implements BlockSource {
  readonly kind = "peer";
  readonly id: string;
  readonly peer: PeerId;
  readonly #ctx: PeerSourceContext;
  readonly #host: string;
  readonly #repo: string;

  constructor(ctx: PeerSourceContext, peer: PeerId, host: string, repo: string) {
    this.#ctx = ctx;
    this.peer = peer;
    this.id = `peer ${peer}`;
    this.#host = host;
    this.#repo = repo;
  }

  async fetchBlock(request: BlockRequest, signal: AbortSignal, context?: FetchContext): Promise<Uint8Array> {
    const ticket = this.#ctx.view.current().ticket;
    if (ticket === undefined) throw new PeerError("PEER_NO_TICKET", "no peer ticket yet", this.peer);
    const peerRequest = {
      host: this.#host,
      repo: this.#repo,
      digest: request.digest,
      blobSize: request.blobSize,
      blockSize: this.#ctx.blockSize,
      index: request.index,
    };
    try {
      const bytes = await this.#ctx.client.fetchBlock(this.peer, peerRequest, ticket, signal, context);
      this.#ctx.quarantine.forgive(this.peer);
      return bytes;
    } catch (err) {
      const e =
        err instanceof PeerError
          ? err
          : new PeerError("PEER_PROTOCOL", String(err), this.peer, { cause: err });
      if (isPeerFault(e.peerCode) && !signal.aborted) this.#ctx.quarantine.add(this.peer, e.peerCode);
      if (e.peerCode !== "PEER_ABORTED") this.#ctx.onFailure?.(this.peer, e);
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
    const view = ctx.view.current();
    if (view.ticket === undefined) return [];
    const out: BlockSource[] = [];
    for (const peer of rankPeers(request.digest, request.index, view.peers)) {
      if (out.length >= ctx.maxCandidates || peer === ctx.self) break;
      if (!ctx.quarantine.has(peer)) out.push(new PeerBlockSource(ctx, peer, host, repo));
    }
    return out;
  };
}

/** After a digest mismatch: quarantine (hard) every peer that served a block that differed. */
export function quarantineLiars(quarantine: Quarantine, report: MismatchReport): PeerId[] {
  const liars = new Set<PeerId>();
  for (const bad of report.badBlocks) {
    if (bad.source instanceof PeerBlockSource) liars.add(bad.source.peer);
  }
  for (const peer of liars) quarantine.add(peer, "DIGEST_MISMATCH", 4);
  return [...liars];
}
