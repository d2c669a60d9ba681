/**
 * A block's rendezvous ranking read as a tree: position 0 (the owner) is the root, and the peer at
 * position i > 0 hangs under position floor((i - 1) / fanout). A peer asks its parent for the block,
 * the parent its own parent, and so on up to the owner, which reads the registry; each fetches the
 * block once (the engine's single-flight) and sends it to at most `fanout` children. Every peer sits
 * at a different position in each block's ranking, so over an image's blocks each uploads about what
 * it downloads, instead of each owner sending its blocks to all N - 1 others.
 *
 * No request goes round in a circle, even while views differ: a peer only ever asks peers ranked
 * above it, and rank comes from a score that does not depend on the view (rendezvousScore), so every
 * chain of waiting requests climbs to a higher score.
 */
import type { PeerId } from "./peer-view.ts";

/** The peers above position `at` in a block's ranking, parent first, owner last. */
export function ancestors(ranked: readonly PeerId[], at: number, fanout: number): PeerId[] {
  if (!Number.isInteger(fanout) || fanout < 1) throw new RangeError(`fanout must be >= 1, got ${fanout}`);
  const above: PeerId[] = [];
  for (let i = at; i > 0;) {
    i = Math.floor((i - 1) / fanout);
    above.push(ranked[i]!);
  }
  return above;
}

/**
 * The peers a sidecar at position `at` asks for a block, best first: its ancestors, parent first, then
 * up to `spares` other peers ranked above it, nearest first. The spares matter for the owner's
 * children, whose only ancestor is the owner: when it is gone (quarantined, skipped by the caller)
 * they ask the peer that takes its place instead of each reading the registry. Still only peers ranked
 * above, so still no circle.
 */
export function askOrder(ranked: readonly PeerId[], at: number, fanout: number, spares = 2): PeerId[] {
  const tree = ancestors(ranked, at, fanout);
  const others: PeerId[] = [];
  for (let i = at - 1; i >= 0 && others.length < spares; i--) {
    const peer = ranked[i]!;
    if (!tree.includes(peer)) others.push(peer);
  }
  return [...tree, ...others];
}
