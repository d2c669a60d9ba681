import { createHash } from "node:crypto";
import { expect } from "chai";
import { parsePeerId } from "../../../../sidecar/peer/peer-view.ts";
import { rankPeers, rendezvousScore } from "../../../../sidecar/peer/rendezvous.ts";

const digest = "sha256:" + "ab".repeat(32);
const peers = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}:65002`);

describe("rendezvous hashing", () => {
  it("every peer computes the same order, whatever the order of its list", () => {
    const shuffled = [...peers].reverse();
    for (let b = 0; b < 50; b++)
      expect(rankPeers(digest, b, shuffled)).to.deep.equal(rankPeers(digest, b, peers));
  });

  it("spreads blocks about evenly over the peers", () => {
    const owned = new Map<string, number>();
    const blocks = 4000;
    for (let b = 0; b < blocks; b++) {
      const owner = rankPeers(digest, b, peers)[0] as string;
      owned.set(owner, (owned.get(owner) ?? 0) + 1);
    }
    expect(owned.size).to.equal(8);
    for (const count of owned.values()) expect(count).to.be.within(blocks / 8 - 150, blocks / 8 + 150);
  });

  it("ranks by the mixed keys of block and peer, the same on every version", () => {
    // Written out again here, from the description in rendezvous.ts, so that a change to the score
    // (which would make peers of two versions disagree on owners) fails this test.
    const key = (text: string) => createHash("sha256").update(text).digest();
    const mix = (x: number) => {
      let h = x >>> 0;
      h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
      h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
      return (h ^ (h >>> 16)) >>> 0;
    };
    const score = (b: number, p: string) => {
      const [block, peer] = [key(`${digest}\n${b}`), key(p)];
      const high = mix(block.readUInt32BE(0) ^ peer.readUInt32BE(0));
      const low = mix(block.readUInt32BE(4) ^ peer.readUInt32BE(4));
      return BigInt(high) * 2n ** 32n + BigInt(low);
    };
    for (let b = 0; b < 50; b++) {
      const expected = [...peers].sort((x, y) => (score(b, x) > score(b, y) ? -1 : 1));
      expect(rankPeers(digest, b, peers)).to.deep.equal(expected);
      expect(rankPeers(digest, b, peers), "asked again").to.deep.equal(expected);
    }
  });

  it("orders peers whose high halves tie by the low half, whatever the order of the list", () => {
    // Found by search: for block 0 of this blob these two peers' high halves are equal.
    const tied = ["10.0.144.76:65002", "10.0.181.33:65002"];
    const group = [...peers, ...tied];
    const ranked = rankPeers(digest, 0, group);
    expect(rankPeers(digest, 0, [...group].reverse())).to.deep.equal(ranked);
    const [first, second] = tied.map((p) => ranked.indexOf(p)).sort((a, b) => a - b) as [number, number];
    expect(second - first, "adjacent: no other peer has the same high half").to.equal(1);
    const [a, b] = [ranked[first] as string, ranked[second] as string].map((p) =>
      rendezvousScore(digest, 0, p),
    ) as [[number, number], [number, number]];
    expect(a[0], "high halves").to.equal(b[0]);
    expect(a[1], "low halves").to.be.above(b[1]);
  });

  it("ranks a thousand peers, spreading owners evenly", () => {
    const many = Array.from({ length: 1000 }, (_, i) => `10.0.${i >> 8}.${i & 255}:65002`);
    const owned = new Map<string, number>();
    const blocks = 10_000;
    for (let b = 0; b < blocks; b++) {
      const owner = rankPeers(digest, b, many)[0] as string;
      owned.set(owner, (owned.get(owner) ?? 0) + 1);
    }
    // 10 blocks a peer on average: a binomial's spread stays well inside these bounds for a fair score.
    const counts = [...owned.values()];
    expect(owned.size).to.be.above(990);
    expect(Math.max(...counts)).to.be.below(30);
  });

  it("removing a peer moves only the blocks it owned, each to its next candidate", () => {
    const gone = peers[3] as string;
    const rest = peers.filter((p) => p !== gone);
    for (let b = 0; b < 500; b++) {
      const before = rankPeers(digest, b, peers);
      const after = rankPeers(digest, b, rest);
      if (before[0] === gone) expect(after[0]).to.equal(before[1]);
      else expect(after[0]).to.equal(before[0]);
    }
  });
});

describe("peer ids", () => {
  it("accepts ip:port, [v6]:port and host:port, and nothing else", () => {
    expect(parsePeerId("10.0.0.1:65002")).to.equal("10.0.0.1:65002");
    expect(parsePeerId("[fd00::1]:65002")).to.equal("[fd00::1]:65002");
    expect(parsePeerId("Peer-1.local:7")).to.equal("peer-1.local:7");
    for (const bad of ["10.0.0.1", "10.0.0.1:0", "10.0.0.1:70000", "a b:1", "http://x:1", ""]) {
      expect(parsePeerId(bad), bad).to.equal(undefined);
    }
  });
});
