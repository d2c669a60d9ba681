/**
 * The conformance suite every BlockStore implementation runs (memory-store.test.ts, disk-store.test.ts).
 * It pins down the behaviour the block engine relies on: bounds that hold even under racing puts, LRU
 * with owned blocks kept in preference, and bounded defaults.
 */
import { expect } from "chai";
import type { BlockStore } from "../../../../sidecar/stores/block-store.ts";

export interface StoreBounds {
  readonly capacityBytes?: number;
  readonly maxEntries?: number;
}

export interface StoreFactory {
  /** Opens a fresh, empty store; bounds left undefined take the implementation's defaults. */
  open(bounds?: StoreBounds): Promise<BlockStore>;
}

const KiB = 1024;

function block(size: number, fill: number): Uint8Array {
  return new Uint8Array(size).fill(fill);
}

export function blockStoreConformance(name: string, factory: StoreFactory): void {
  describe(`${name}: BlockStore conformance`, () => {
    const opened: BlockStore[] = [];
    const open = async (bounds?: StoreBounds) => {
      const store = await factory.open(bounds);
      opened.push(store);
      return store;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    });

    it("stores, reads back, replaces and deletes", async () => {
      const store = await open({ capacityBytes: 64 * KiB });
      expect(await store.put("a", block(1000, 1))).to.equal(true);
      expect(store.has("a")).to.equal(true);
      expect(Buffer.from((await store.get("a"))!)).to.deep.equal(Buffer.from(block(1000, 1)));
      expect(await store.put("a", block(10, 2))).to.equal(true);
      expect(Buffer.from((await store.get("a"))!)).to.deep.equal(Buffer.from(block(10, 2)));
      expect(store.stats()).to.include({ bytes: 10, entries: 1 });
      expect(await store.delete("a")).to.equal(true);
      expect(await store.delete("a")).to.equal(false);
      expect(store.has("a")).to.equal(false);
      expect(await store.get("a")).to.equal(undefined);
      expect(store.stats()).to.include({ bytes: 0, entries: 0, hits: 2, misses: 1 });
    });

    it("evicts the least recently used block", async () => {
      const store = await open({ capacityBytes: 3 * KiB });
      for (const key of ["a", "b", "c"]) await store.put(key, block(KiB, 1));
      await store.get("a");
      await store.put("d", block(KiB, 1));
      expect(["a", "b", "c", "d"].filter((k) => store.has(k))).to.deep.equal(["a", "c", "d"]);
      expect(store.stats()).to.include({ evictions: 1, bytes: 3 * KiB });
    });

    it("evicts unowned blocks before owned ones, LRU within each class", async () => {
      const store = await open({ capacityBytes: 4 * KiB });
      await store.put("own1", block(KiB, 1), { owned: true });
      await store.put("x", block(KiB, 1));
      await store.put("own2", block(KiB, 1), { owned: true });
      await store.put("y", block(KiB, 1));
      await store.put("z", block(2 * KiB, 1));
      expect(["own1", "own2", "x", "y", "z"].filter((k) => store.has(k))).to.deep.equal([
        "own1",
        "own2",
        "z",
      ]);
      await store.get("own1");
      await store.put("w", block(3 * KiB, 1));
      // z (unowned) goes first, then the least recently used owned block (own2).
      expect(["own1", "own2", "z", "w"].filter((k) => store.has(k))).to.deep.equal(["own1", "w"]);
    });

    it("keeps a block's class when re-put without `owned`", async () => {
      const store = await open({ capacityBytes: 2 * KiB });
      await store.put("own", block(KiB, 1), { owned: true });
      await store.put("own", block(KiB, 2));
      await store.put("x", block(KiB, 1));
      await store.put("y", block(KiB, 1));
      expect(store.has("own")).to.equal(true);
    });

    it("does not store a block larger than the capacity, and evicts nothing for it", async () => {
      const store = await open({ capacityBytes: 2 * KiB });
      await store.put("a", block(KiB, 1));
      expect(await store.put("big", block(2 * KiB + 1, 1))).to.equal(false);
      expect(store.has("big")).to.equal(false);
      expect(store.has("a")).to.equal(true);
      expect(store.stats().evictions).to.equal(0);
    });

    it("bounds the number of entries", async () => {
      const store = await open({ capacityBytes: 64 * KiB, maxEntries: 3 });
      for (const key of ["a", "b", "c", "d", "e"]) await store.put(key, block(10, 1));
      expect(store.stats()).to.include({ entries: 3, evictions: 2 });
    });

    it("never exceeds the byte cap while many puts race", async () => {
      const capacity = 40 * KiB;
      const store = await open({ capacityBytes: capacity });
      let peak = 0;
      const sample = () => (peak = Math.max(peak, store.stats().bytes));
      const sampler = setInterval(sample, 0);
      const puts = Array.from({ length: 120 }, (_, i) =>
        store
          .put(`k${i}`, block(((i * 7919) % (8 * KiB)) + 1, i % 251), { owned: i % 3 === 0 })
          .then((ok) => {
            sample();
            return ok;
          }),
      );
      const stored = await Promise.all(puts);
      clearInterval(sampler);
      sample();
      expect(peak).to.be.at.most(capacity);
      expect(stored.filter(Boolean).length).to.be.greaterThan(0);
      // Whatever is indexed reads back whole and with the bytes that were put.
      for (let i = 0; i < 120; i++) {
        const got = await store.get(`k${i}`);
        if (got) expect(got.byteLength).to.equal(((i * 7919) % (8 * KiB)) + 1);
        if (got) expect(got[0]).to.equal(i % 251);
      }
    });

    it("is bounded by default: filling past the default entry bound evicts", async function () {
      this.timeout(60_000);
      const store = await open();
      const { capacityBytes, maxEntries } = store.stats();
      expect(capacityBytes).to.be.greaterThan(0);
      expect(maxEntries).to.be.greaterThan(0);
      // Tiny blocks cross the entry bound cheaply on every implementation (the byte default is tested
      // per implementation, where filling it is cheap).
      const tiny = block(1, 7);
      const batch = 256;
      for (let i = 0; i <= maxEntries; i += batch) {
        await Promise.all(Array.from({ length: batch }, (_, j) => store.put(`k${i + j}`, tiny)));
      }
      expect(store.stats().evictions).to.be.greaterThan(0);
      expect(store.stats().entries).to.be.at.most(maxEntries);
    });
  });
}
