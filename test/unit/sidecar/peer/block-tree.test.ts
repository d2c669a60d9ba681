/**
 * A block's ranking read as a tree (sidecar/peer/block-tree.ts), and the peers a sidecar asks with it
 * (peer-source.ts with a fan-out): its parent, then its grandparent, then the owner; the owner reads the
 * registry after asking the peers ranked after it for a held copy. Every peer asked ranks above the asker.
 */
import { expect } from "chai";
import { ancestors, askOrder } from "../../../../sidecar/peer/block-tree.ts";
import type { PeerClient } from "../../../../sidecar/peer/peer-client.ts";
import {
  CACHED_PROBES,
  peerCandidates,
  type PeerSourceContext,
} from "../../../../sidecar/peer/peer-source.ts";
import type { PeerViewProvider } from "../../../../sidecar/peer/peer-view.ts";
import { Quarantine } from "../../../../sidecar/peer/quarantine.ts";
import { rankPeers } from "../../../../sidecar/peer/rendezvous.ts";

const DIGEST = "sha256:" + "cd".repeat(32);
const PEERS = Array.from({ length: 16 }, (_, i) => `10.0.0.${i + 2}:65002`);
const ranked = Array.from({ length: 16 }, (_, i) => `p${i}`);

function contextFor(self: string, fanout: number, quarantined: string[] = []): PeerSourceContext {
  const quarantine = new Quarantine({ baseMs: 60_000, maxMs: 60_000 });
  for (const peer of quarantined) quarantine.add(peer, "TEST");
  const view: PeerViewProvider = {
    current: () => ({ group: "g", peers: PEERS, ticket: "t" }),
    verifier: undefined as unknown as PeerViewProvider["verifier"],
    close: async () => undefined,
  };
  return {
    view,
    // Only the choice of peers is under test: no block is fetched.
    client: undefined as unknown as PeerClient,
    quarantine,
    self,
    blockSize: 256 * 1024,
    maxCandidates: 2,
    cachedProbeTimeoutMs: 1000,
    slowProbes: new Quarantine({ baseMs: 60_000, maxMs: 60_000 }),
    fanout,
  };
}

function idsFor(ctx: PeerSourceContext, index: number): string[] {
  const request = {
    digest: DIGEST,
    blobSize: 16 * 256 * 1024,
    index,
    offset: index * 256 * 1024,
    length: 256 * 1024,
  };
  return peerCandidates(ctx, "registry.test", "team/app")(request).map((s) => s.id ?? "(no id)");
}

describe("block tree", () => {
  it("hangs position i under floor((i - 1) / fanout): ancestors parent first, owner last", () => {
    expect(ancestors(ranked, 0, 2)).to.deep.equal([]);
    expect(ancestors(ranked, 1, 2)).to.deep.equal(["p0"]);
    expect(ancestors(ranked, 2, 2)).to.deep.equal(["p0"]);
    expect(ancestors(ranked, 6, 2)).to.deep.equal(["p2", "p0"]);
    expect(ancestors(ranked, 15, 2)).to.deep.equal(["p7", "p3", "p1", "p0"]);
    expect(ancestors(ranked, 15, 4)).to.deep.equal(["p3", "p0"]);
    expect(() => ancestors(ranked, 3, 0)).to.throw(RangeError, /fanout/);
  });

  it("each peer has at most `fanout` children, and every peer but the owner has a parent", () => {
    for (const fanout of [1, 2, 3, 4, 8]) {
      const children = new Map<string, number>();
      for (let at = 1; at < ranked.length; at++) {
        const parent = ancestors(ranked, at, fanout)[0]!;
        children.set(parent, (children.get(parent) ?? 0) + 1);
        expect(ranked.indexOf(parent)).to.be.lessThan(at);
      }
      for (const count of children.values()) expect(count).to.be.at.most(fanout);
    }
  });

  it("a sidecar asks its parent and grandparent (or the peer right above it) in the block's ranking, the owner last, then the peers after it for a held copy", () => {
    for (let index = 0; index < 16; index++) {
      const order = rankPeers(DIGEST, index, PEERS);
      for (const [at, self] of order.entries()) {
        const chain = askOrder(order, at, 2).slice(0, 2);
        // Below the owner's grandchildren (position 7 on) the owner is neither parent nor grandparent.
        const owner = at >= 7 ? [order[0]!] : [];
        const held = order.slice(at + 1, at + 1 + CACHED_PROBES).map((p) => `peer ${p} (cached)`);
        expect(idsFor(contextFor(self, 2), index), `block ${index}, position ${at}`).to.deep.equal([
          ...[...chain, ...owner].map((p) => `peer ${p}`),
          ...held,
        ]);
      }
    }
  });

  it("deep in the tree the owner follows parent and grandparent, for when both fail (two peers of one branch left after the list was made)", () => {
    const order = rankPeers(DIGEST, 7, PEERS);
    const self = order[14]!; // ancestors with fan-out 2: positions 6, 2, 0
    expect(idsFor(contextFor(self, 2), 7)).to.deep.equal([
      `peer ${order[6]}`,
      `peer ${order[2]}`,
      `peer ${order[0]}`,
      `peer ${order[15]} (cached)`,
    ]);
    // Once they are quarantined, the next peers up take their places, the owner first.
    expect(idsFor(contextFor(self, 2, [order[6]!, order[2]!]), 7)).to.deep.equal([
      `peer ${order[0]}`,
      `peer ${order[13]}`,
      `peer ${order[15]} (cached)`,
    ]);
  });

  it("a quarantined owner is not asked, and the owner never asks itself", () => {
    const order = rankPeers(DIGEST, 9, PEERS);
    expect(idsFor(contextFor(order[10]!, 2, [order[0]!]), 9)).to.not.include(`peer ${order[0]}`);
    expect(idsFor(contextFor(order[0]!, 2), 9).every((id) => id.endsWith("(cached)"))).to.equal(true);
  });

  it("asks the ancestors, then the peers ranked right above that are not, nearest first", () => {
    expect(askOrder(ranked, 0, 2)).to.deep.equal([]);
    expect(askOrder(ranked, 1, 2)).to.deep.equal(["p0"]);
    expect(askOrder(ranked, 2, 2)).to.deep.equal(["p0", "p1"]);
    expect(askOrder(ranked, 6, 2)).to.deep.equal(["p2", "p0", "p5", "p4"]);
    expect(askOrder(ranked, 6, 2, 1)).to.deep.equal(["p2", "p0", "p5"]);
  });

  it("the owner's second child asks the first when the owner is quarantined, not the registry", () => {
    const order = rankPeers(DIGEST, 5, PEERS);
    expect(idsFor(contextFor(order[2]!, 2, [order[0]!]), 5)[0]).to.equal(`peer ${order[1]}`);
  });

  it("skips a quarantined ancestor for the next one up", () => {
    const order = rankPeers(DIGEST, 3, PEERS);
    const self = order[14]!; // ancestors with fan-out 2: positions 6, 2, 0
    expect(idsFor(contextFor(self, 2, [order[6]!]), 3).slice(0, 2)).to.deep.equal([
      `peer ${order[2]}`,
      `peer ${order[0]}`,
    ]);
  });
});
