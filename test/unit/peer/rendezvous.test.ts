import { createHash } from "node:crypto";
import { expect } from "chai";
import { parsePeerId } from "../../../sidecar/peer/peer-view.ts";
import { rankPeers } from "../../../sidecar/peer/rendezvous.ts";

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

  it("ranks by the first 8 bytes of sha256(digest, index, peer), the same on every version", () => {
    const score = (b: number, p: string) =>
      createHash("sha256").update(`${digest}\n${b}\n${p}`).digest().readBigUInt64BE(0);
    for (let b = 0; b < 50; b++) {
      const expected = [...peers].sort((x, y) => (score(b, x) > score(b, y) ? -1 : 1));
      expect(rankPeers(digest, b, peers)).to.deep.equal(expected);
      expect(rankPeers(digest, b, peers), "asked again").to.deep.equal(expected);
    }
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
