import { expect } from "chai";
import { MemoryBlockStore } from "../../../../sidecar/stores/memory-store.ts";
import { DEFAULT_MEMORY_CAPACITY_BYTES } from "../../../../sidecar/stores/store-defaults.ts";
import { blockStoreConformance } from "./store-conformance.ts";

blockStoreConformance("memory store", { open: async (bounds) => new MemoryBlockStore(bounds) });

describe("memory store", () => {
  it("defaults to the 512 MiB cap of design.md", () => {
    expect(new MemoryBlockStore().stats().capacityBytes).to.equal(DEFAULT_MEMORY_CAPACITY_BYTES);
    expect(DEFAULT_MEMORY_CAPACITY_BYTES).to.equal(512 * 1024 * 1024);
  });

  it("the default byte cap evicts", async () => {
    const store = new MemoryBlockStore();
    // One shared buffer: the store counts every put's bytes, so this is cheap to fill.
    const MiB = new Uint8Array(1024 * 1024);
    for (let i = 0; i < 513; i++) await store.put(`k${i}`, MiB);
    expect(store.stats()).to.include({ bytes: 512 * 1024 * 1024, entries: 512, evictions: 1 });
    expect(store.has("k0")).to.equal(false);
  });

  it("rejects nonsense bounds", () => {
    expect(() => new MemoryBlockStore({ capacityBytes: -1 })).to.throw(RangeError, /capacityBytes/);
    expect(() => new MemoryBlockStore({ maxEntries: 0 })).to.throw(RangeError, /maxEntries/);
  });
});

describe("memory store: reports the blocks it lets go (for the block reclaimer)", () => {
  it("evicted, deleted and replaced blocks are reported with their sizes; stored ones are not", async () => {
    const released: number[] = [];
    const store = new MemoryBlockStore({ capacityBytes: 300, onRelease: (n) => released.push(n) });
    await store.put("a", new Uint8Array(100));
    await store.put("b", new Uint8Array(100));
    expect(released).to.deep.equal([]);
    await store.put("c", new Uint8Array(150)); // evicts a
    expect(released).to.deep.equal([100]);
    await store.put("b", new Uint8Array(50)); // replaces b
    expect(released).to.deep.equal([100, 100]);
    await store.delete("c");
    await store.delete("missing");
    expect(released).to.deep.equal([100, 100, 150]);
  });
});
