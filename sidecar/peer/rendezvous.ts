/**
 * Rendezvous (highest random weight) hashing: the owner of block b of blob D is the peer with the
 * highest hash of (D, b, peer). Every sidecar that sees the same peer list picks the same owner without
 * talking to anyone, and when a peer leaves only the blocks it owned move (to each block's next
 * candidate), so the registry still sends each block about once.
 *
 * A block is ranked several times (its peer sources, then ownership when it is cached) and each ranking
 * hashes every peer, so rankings are remembered per peer list (the view hands out the same array until
 * the list changes) for the most recent blocks.
 */
import { hash } from "node:crypto";

const REMEMBERED_BLOCKS = 4096;
const rankings = new WeakMap<readonly string[], Map<string, readonly string[]>>();

export function rendezvousScore(digest: string, index: number, peerId: string): bigint {
  // One-shot hash: no Hash object per peer (this runs for every peer of every block).
  return hash("sha256", `${digest}\n${index}\n${peerId}`, "buffer").readBigUInt64BE(0);
}

/** Peer ids ordered from owner to last candidate for block `index` of blob `digest` (do not modify). */
export function rankPeers(digest: string, index: number, peerIds: readonly string[]): readonly string[] {
  let remembered = rankings.get(peerIds);
  if (remembered === undefined) {
    remembered = new Map();
    rankings.set(peerIds, remembered);
  }
  const key = `${index}\n${digest}`;
  const known = remembered.get(key);
  if (known !== undefined) return known;
  const scored = peerIds.map((id) => ({ id, score: rendezvousScore(digest, index, id) }));
  // Ties are astronomically unlikely; break them by id so every peer still agrees.
  scored.sort((a, b) => (a.score === b.score ? (a.id < b.id ? -1 : 1) : a.score > b.score ? -1 : 1));
  const ranked = Object.freeze(scored.map((s) => s.id));
  if (remembered.size >= REMEMBERED_BLOCKS) remembered.clear();
  remembered.set(key, ranked);
  return ranked;
}
