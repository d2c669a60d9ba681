import { expect } from "chai";
import { imageBlobs, SIM_TIMING } from "../../../../bench/sim/image-pull.ts";
import { simulateZone, type ZoneSimOptions } from "../../../../bench/sim/zone-sim.ts";
import { blockCount, blockRequest } from "../../../../sidecar/blocks/index.ts";
import { ancestors } from "../../../../sidecar/peer/block-tree.ts";
import { rankPeers } from "../../../../sidecar/peer/rendezvous.ts";

const MiB = 1024 * 1024;
const BLOCK = 256 * 1024;

function options(n: number, over: Partial<ZoneSimOptions> = {}): ZoneSimOptions {
  return {
    n,
    blobs: imageBlobs(16 * MiB, 2, 7),
    blockSizeBytes: BLOCK,
    peerBytesPerSec: 10e6,
    originBytesPerSec: 10e6,
    ...SIM_TIMING,
    cacheBytes: 64 * MiB,
    readaheadBlocks: 32,
    readaheadBudgetBlocks: 128,
    slots: 128,
    viewLagS: 1,
    ...over,
  };
}

describe("sim: a zone pulling one image", () => {
  it("one peer alone pulls at its link's speed, reading the origin once", () => {
    const o = options(1);
    const image = o.blobs.reduce((a, b) => a + b.size, 0);
    const r = simulateZone(o);
    expect(r.pulls).to.have.length(1);
    // 16 MiB at 10 MB/s is 1.68 s; the pull's start and one round trip per block in flight add little.
    expect(r.pulls[0]).to.be.within(image / 10e6, (image / 10e6) * 1.05 + o.pullStartS);
    expect(r.originBytes).to.equal(image);
  });

  it("without a block tree every block comes from its rendezvous owner: each peer uploads (N-1) x what it owns", () => {
    const n = 4;
    const o = options(n);
    const r = simulateZone(o);
    // simulateZone names peer i 10.0.i.1:65002; rank each block over the same list.
    const ids = Array.from({ length: n }, (_, i) => `10.0.${i}.1:65002`);
    const owned = new Array<number>(n).fill(0);
    for (const blob of o.blobs) {
      for (let b = 0; b < blockCount(blob.size, BLOCK); b++) {
        const owner = ids.indexOf(rankPeers(blob.digest, b, ids)[0]!);
        owned[owner]! += blockRequest(blob, b, BLOCK).length;
      }
    }
    expect(r.uploads).to.deep.equal(owned.map((bytes) => (n - 1) * bytes));
    expect(r.originBytes).to.equal(o.blobs.reduce((a, b) => a + b.size, 0));
    expect(r.pulls).to.have.length(n);
  });

  it("with a block tree each peer sends each block to its children only, and uploads about its share", () => {
    const n = 16;
    const o = options(n, { fanout: 2 });
    const r = simulateZone(o);
    const ids = Array.from({ length: n }, (_, i) => `10.0.${i}.1:65002`);
    const sent = new Array<number>(n).fill(0);
    for (const blob of o.blobs) {
      for (let b = 0; b < blockCount(blob.size, BLOCK); b++) {
        const order = rankPeers(blob.digest, b, ids);
        for (let at = 1; at < n; at++) {
          const parent = ancestors(order, at, 2)[0]!;
          sent[ids.indexOf(parent)]! += blockRequest(blob, b, BLOCK).length;
        }
      }
    }
    expect(r.uploads).to.deep.equal(sent);
    expect(r.originBytes).to.equal(o.blobs.reduce((a, b) => a + b.size, 0));
    // Spread over more uploaders: here the busiest sends 1.28x the mean, against 1.75x from owners alone.
    const busiest = (uploads: readonly number[]) =>
      Math.max(...uploads) / (uploads.reduce((a, b) => a + b, 0) / uploads.length);
    expect(busiest(r.uploads)).to.be.below(1.4);
    expect(busiest(simulateZone(options(n)).uploads)).to.be.above(1.6);
  });

  it("is deterministic: the same options give the same result", () => {
    const o = options(24, { churn: { leave: 0.1, join: 0.1, windowS: 1.5, seed: 3 } });
    expect(simulateZone(o)).to.deep.equal(simulateZone(o));
  });

  it("with peers leaving and joining mid-pull every peer that stays finishes, and the origin stays near 1x", () => {
    const o = options(40, { churn: { leave: 0.1, join: 0.1, windowS: 1.5, seed: 5 } });
    const image = o.blobs.reduce((a, b) => a + b.size, 0);
    const r = simulateZone(o);
    expect(r.left).to.equal(4);
    expect(r.joined).to.equal(4);
    expect(r.incomplete).to.equal(0);
    expect(r.pulls).to.have.length(40);
    // Blocks a leaver owned and had not yet sent are fetched again by their next candidate.
    expect(r.originBytes / image).to.be.within(1, 1.25);
  });
});
