import { expect } from "chai";
import { setImmediate as turn } from "node:timers/promises";
import { BlockReclaimer } from "../../../../sidecar/memory/block-reclaimer.ts";

describe("block reclaimer: dropped blocks are collected after their share of the budget, not 64 MiB later", () => {
  function counting(everyBytes: number) {
    const seen = { collections: 0, reported: 0 };
    const reclaimer = new BlockReclaimer({
      everyBytes,
      collect: () => seen.collections++,
      onCollect: () => seen.reported++,
    });
    return { reclaimer, seen };
  }

  it("asks for one collection once the dropped bytes reach everyBytes, after the current job", async () => {
    const { reclaimer, seen } = counting(1000);
    reclaimer.released(600);
    await turn();
    expect(seen.collections).to.equal(0);
    reclaimer.released(400);
    // Not inside the put that evicted: the burst it belongs to finishes first.
    expect(seen.collections).to.equal(0);
    await Promise.resolve();
    expect(seen).to.deep.equal({ collections: 1, reported: 1 });
  });

  it("does not wait for the end of the event loop's turn, which a crowd of streams makes long", async () => {
    const { reclaimer, seen } = counting(1000);
    let atTurnEnd = -1;
    setImmediate(() => (atTurnEnd = seen.collections));
    reclaimer.released(1000);
    await Promise.resolve();
    expect(seen.collections).to.equal(1);
    await turn();
    expect(atTurnEnd).to.equal(1);
  });

  it("a burst that drops many times the share still asks once, and the count starts again after it", async () => {
    const { reclaimer, seen } = counting(1000);
    for (let i = 0; i < 10; i++) reclaimer.released(1000);
    await turn();
    expect(seen.collections).to.equal(1);
    reclaimer.released(999);
    await turn();
    expect(seen.collections).to.equal(1);
    reclaimer.released(1);
    await turn();
    expect(seen.collections).to.equal(2);
  });

  it("without an exposed gc it is inactive and reports are harmless", async () => {
    const reclaimer = new BlockReclaimer({ everyBytes: 1, collect: undefined });
    expect(reclaimer.active).to.equal(false);
    reclaimer.released(1 << 30);
    await turn();
  });

  it("rejects a nonsense share", () => {
    expect(() => new BlockReclaimer({ everyBytes: 0 })).to.throw(RangeError, /everyBytes/);
  });
});
