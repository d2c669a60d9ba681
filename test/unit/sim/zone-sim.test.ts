import { expect } from "chai";
import { imageBlobs, SIM_TIMING } from "../../../bench/sim/image-pull.ts";
import { simulateZone, type ZoneSimOptions } from "../../../bench/sim/zone-sim.ts";
import { blockCount, blockRequest } from "../../../sidecar/blocks/index.ts";
import { rankPeers } from "../../../sidecar/peer/rendezvous.ts";

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

  it("every block comes from its rendezvous owner: each peer uploads (N-1) x what it owns", () => {
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
