/**
 * Rendezvous (highest random weight) hashing: the owner of block b of blob D is the peer with the
 * highest hash of (D, b, peer). Every sidecar that sees the same peer list picks the same owner without
 * talking to anyone, and when a peer leaves only the blocks it owned move (to each block's next
 * candidate), so the registry still sends each block about once.
 */
import { createHash } from "node:crypto";

export function rendezvousScore(digest: string, index: number, peerId: string): bigint {
  return createHash("sha256").update(`${digest}\n${index}\n${peerId}`).digest().readBigUInt64BE(0);
}

/** Peer ids ordered from owner to last candidate for block `index` of blob `digest`. */
export function rankPeers(digest: string, index: number, peerIds: readonly string[]): string[] {
  const scored = peerIds.map((id) => ({ id, score: rendezvousScore(digest, index, id) }));
  // Ties are astronomically unlikely; break them by id so every peer still agrees.
  scored.sort((a, b) => (a.score === b.score ? (a.id < b.id ? -1 : 1) : a.score > b.score ? -1 : 1));
  return scored.map((s) => s.id);
}
