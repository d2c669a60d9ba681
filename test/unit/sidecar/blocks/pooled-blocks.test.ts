/**
 * The block engine over a block pool (block-pool.ts): a buffer goes to another block only once every
 * holder released it, so what a reader holds is never overwritten, whatever the store evicts meanwhile.
 */
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { expect } from "chai";
import { BlockPool } from "../../../../sidecar/buffers/block-pool.ts";
import type { BlobDescriptor, BlockRequest, BlockSource } from "../../../../sidecar/blocks/block-source.ts";
import { MemoryBlockStore } from "../../../../sidecar/stores/memory-store.ts";
import type { BlockStore } from "../../../../sidecar/stores/block-store.ts";
import { blockKey } from "../../../../sidecar/blocks/block-plan.ts";
import { BLOCK, blob, rig } from "./engine-rig.ts";

/** The registry of these tests: copies each block into a buffer from the pool, as the real sources do. */
class PooledSource implements BlockSource {
  readonly kind = "origin";
  readonly id = "origin pooled";
  readonly #pool: BlockPool;
  readonly #blobs = new Map<string, Uint8Array>();
  fetches = 0;

  constructor(pool: BlockPool) {
    this.#pool = pool;
  }

  add(bytes: Uint8Array): BlobDescriptor {
    const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    this.#blobs.set(digest, bytes);
    return { digest, size: bytes.byteLength };
  }

  async fetchBlock(request: BlockRequest): Promise<Uint8Array> {
    this.fetches++;
    const bytes = this.#blobs.get(request.digest)!;
    const out = this.#pool.allocate(request.length);
    out.set(bytes.subarray(request.offset, request.offset + request.length));
    return out;
  }
}

async function chunksOf(stream: Readable): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  // 'data' hands each pushed chunk as it is (an async iterator may concatenate two).
  await new Promise<void>((resolve, reject) => {
    stream.on("data", (chunk: Uint8Array) => chunks.push(chunk));
    stream.once("end", resolve);
    stream.once("error", reject);
  });
  return chunks;
}

function pooledRig(storeBlocks: number, wrap?: (store: BlockStore) => BlockStore) {
  const pool = new BlockPool({ blockBytes: BLOCK, maxFree: 64 });
  const inner = new MemoryBlockStore({ capacityBytes: storeBlocks * BLOCK, buffers: pool });
  const store = wrap ? wrap(inner) : inner;
  const { engine } = rig({ store, buffers: pool });
  return { pool, engine, source: new PooledSource(pool) };
}

describe("block engine over a block pool", () => {
  it("never reuses a block a reader still holds, though the store evicted it and other blobs came", async () => {
    const { pool, engine, source } = pooledRig(2);
    const first = blob(16 * BLOCK);
    const held = await chunksOf(engine.streamBlob(source.add(first), [source]));
    // The second blob's chunks are released as read: their buffers go round, never into `held`'s.
    for (let i = 0; i < 3; i++) {
      const second = blob(16 * BLOCK);
      const chunks = await chunksOf(engine.streamBlob(source.add(second), [source]));
      expect(Buffer.concat(chunks).equals(second)).to.equal(true);
      for (const chunk of chunks) engine.releaseBlock(chunk);
    }
    expect(pool.stats().reused, "buffers were reused meanwhile").to.be.greaterThan(16);
    expect(Buffer.concat(held).equals(first), "what the first reader holds").to.equal(true);
    // Released, the first blob's buffers serve the next blobs.
    for (const chunk of held) engine.releaseBlock(chunk);
    const before = pool.stats();
    await chunksOf(engine.streamBlob(source.add(blob(16 * BLOCK)), [source]));
    expect(pool.stats().reused - before.reused).to.equal(16);
    expect(pool.stats().allocated).to.equal(before.allocated);
  });

  it("refetches a stored block whose buffer went to another block between the store's answer and its use", async () => {
    let pool!: BlockPool;
    let victim: string | undefined;
    const rigged = pooledRig(64, (inner) => ({
      get: async (key) => {
        const bytes = await inner.get(key);
        if (key === victim && bytes) {
          // Evicted, and its buffer filled with another block, before the reader takes its lease.
          await inner.delete(key);
          pool.allocate(BLOCK).fill(0xee);
        }
        return bytes;
      },
      put: (key, bytes, options) => inner.put(key, bytes, options),
      delete: (key) => inner.delete(key),
      has: (key) => inner.has(key),
      stats: () => inner.stats(),
      close: () => inner.close(),
    }));
    pool = rigged.pool;
    const { engine, source } = rigged;
    const bytes = blob(8 * BLOCK);
    const desc = source.add(bytes);
    // Twice: the second read checks the stored blocks against the blob's record once and remembers it.
    for (let pass = 0; pass < 2; pass++) {
      const warm = await chunksOf(engine.streamBlob(desc, [source]));
      for (const chunk of warm) engine.releaseBlock(chunk);
    }
    expect(source.fetches).to.equal(8);
    victim = blockKey(desc.digest, 3);
    const again = await chunksOf(engine.streamBlob(desc, [source]));
    expect(Buffer.concat(again).equals(bytes)).to.equal(true);
    expect(source.fetches, "block 3 fetched again, the rest from the store").to.equal(9);
  });

  it("hands a Range's partial first and last blocks out as leases of their own", async () => {
    const { pool, engine, source } = pooledRig(64);
    const bytes = blob(4 * BLOCK);
    const desc = source.add(bytes);
    for (const chunk of await chunksOf(engine.streamBlob(desc, [source]))) engine.releaseBlock(chunk);
    const freeBefore = pool.stats().free;
    const start = BLOCK + 10;
    const end = 3 * BLOCK + 99;
    const chunks = await chunksOf(engine.readRange(desc, start, end, [source]));
    expect(Buffer.concat(chunks).equals(bytes.subarray(start, end + 1))).to.equal(true);
    expect(chunks.map((c) => c.byteLength)).to.deep.equal([BLOCK - 10, BLOCK, 100]);
    for (const chunk of chunks) engine.releaseBlock(chunk);
    // Still stored: the store's lease keeps every buffer out of the pool.
    expect(pool.stats().free).to.equal(freeBefore);
  });
});
