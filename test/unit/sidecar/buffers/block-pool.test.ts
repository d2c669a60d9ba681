import { expect } from "chai";
import { BlockPool, UNPOOLED } from "../../../../sidecar/buffers/block-pool.ts";

const BLOCK = 4096;

describe("block pool (leases on reused block buffers)", () => {
  it("gives a released buffer to the next block, and counts it", () => {
    const pool = new BlockPool({ blockBytes: BLOCK, maxFree: 4 });
    const first = pool.allocate(BLOCK);
    pool.release(first);
    const second = pool.allocate(BLOCK);
    expect(second.buffer).to.equal(first.buffer);
    expect(pool.stats()).to.deep.equal({ allocated: 1, reused: 1, free: 0 });
  });

  it("keeps a buffer out of the pool while any lease on it is held", () => {
    const pool = new BlockPool({ blockBytes: BLOCK, maxFree: 4 });
    const lease = pool.allocate(BLOCK).fill(7);
    const shared = pool.share(lease)!;
    pool.release(lease);
    const other = pool.allocate(BLOCK).fill(9);
    expect(other.buffer).not.to.equal(lease.buffer);
    expect(shared.every((b) => b === 7)).to.equal(true);
    pool.release(shared);
    expect(pool.allocate(BLOCK).buffer).to.equal(lease.buffer);
  });

  it("refuses to share bytes that went back to the pool, even once the buffer serves another block", () => {
    const pool = new BlockPool({ blockBytes: BLOCK, maxFree: 4 });
    const stale = pool.allocate(BLOCK);
    pool.release(stale);
    expect(pool.share(stale)).to.equal(undefined);
    const reused = pool.allocate(BLOCK);
    expect(reused.buffer).to.equal(stale.buffer);
    expect(pool.share(stale)).to.equal(undefined);
    expect(pool.share(reused)).not.to.equal(undefined);
  });

  it("counts a lease once however often it is released", () => {
    const pool = new BlockPool({ blockBytes: BLOCK, maxFree: 4 });
    const lease = pool.allocate(BLOCK);
    const shared = pool.share(lease)!;
    pool.release(lease);
    pool.release(lease);
    expect(pool.stats().free).to.equal(0);
    pool.release(shared);
    expect(pool.stats().free).to.equal(1);
  });

  it("moves a lease to a part of its bytes with narrow; a subarray is no lease", () => {
    const pool = new BlockPool({ blockBytes: BLOCK, maxFree: 4 });
    const lease = pool.allocate(BLOCK);
    expect(() => pool.share(lease.subarray(1))).to.throw("needs a lease");
    pool.release(lease.subarray(1));
    const part = pool.narrow(lease, 100, 200);
    expect(part.byteLength).to.equal(100);
    pool.release(lease);
    expect(pool.stats().free).to.equal(0);
    pool.release(part);
    expect(pool.stats().free).to.equal(1);
  });

  it("keeps at most maxFree buffers and reports the others dropped", () => {
    const dropped: number[] = [];
    const pool = new BlockPool({ blockBytes: BLOCK, maxFree: 2, onDrop: (bytes) => dropped.push(bytes) });
    const leases = [1, 2, 3].map(() => pool.allocate(BLOCK));
    for (const lease of leases) pool.release(lease);
    expect(pool.stats().free).to.equal(2);
    expect(dropped).to.deep.equal([BLOCK]);
  });

  it("pools whole blocks only: a blob's short last block is its own allocation, never counted", () => {
    const pool = new BlockPool({ blockBytes: BLOCK, maxFree: 4 });
    const tail = pool.allocate(100);
    expect(tail.buffer.byteLength).to.be.lessThan(BLOCK);
    expect(pool.share(tail)).to.equal(tail);
    pool.release(tail);
    expect(pool.stats()).to.deep.equal({ allocated: 0, reused: 0, free: 0 });
  });

  it("refuses absurd sizes, naming them", () => {
    expect(() => new BlockPool({ blockBytes: 0, maxFree: 1 })).to.throw(RangeError, "blockBytes");
    expect(() => new BlockPool({ blockBytes: BLOCK, maxFree: -1 })).to.throw(RangeError, "maxFree");
  });

  it("UNPOOLED allocates every time and shares the same view", () => {
    const a = UNPOOLED.allocate(BLOCK);
    expect(UNPOOLED.share(a)).to.equal(a);
    expect(UNPOOLED.allocate(BLOCK).buffer).not.to.equal(a.buffer);
    expect(UNPOOLED.narrow(a, 1, 3).byteLength).to.equal(2);
  });
});
