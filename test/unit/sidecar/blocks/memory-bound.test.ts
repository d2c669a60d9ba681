import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { BlockRequest, BlockSource } from "../../../../sidecar/blocks/block-source.ts";
import { MemoryBlockSource } from "../../../../sidecar/blocks/memory-source.ts";
import type { BlockStore, PutOptions } from "../../../../sidecar/stores/block-store.ts";
import { DiskBlockStore } from "../../../../sidecar/stores/disk-store.ts";
import { MemoryBlockStore } from "../../../../sidecar/stores/memory-store.ts";
import { BLOCK, blob, drain, rig } from "./engine-rig.ts";

/** A real store whose every put is followed by a look at its size: the cap must hold at each one. */
function watched(store: BlockStore): { store: BlockStore; peak: () => number } {
  let max = 0;
  const look = () => (max = Math.max(max, store.stats().bytes));
  const put = store.put.bind(store);
  store.put = async (key: string, bytes: Uint8Array, options?: PutOptions) => {
    look();
    const p = put(key, bytes, options);
    look();
    const stored = await p;
    look();
    return stored;
  };
  return { store, peak: () => max };
}

/** Copies every block, as a network source does (MemoryBlockSource hands out views of one buffer). */
class CopyingSource implements BlockSource {
  readonly kind = "origin";
  readonly #inner: MemoryBlockSource;
  constructor(inner: MemoryBlockSource) {
    this.#inner = inner;
  }
  async fetchBlock(request: BlockRequest, signal: AbortSignal): Promise<Uint8Array> {
    return Buffer.from(await this.#inner.fetchBlock(request, signal));
  }
}

describe("block engine: bounded memory", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "acr-p2p-engine-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const kind of ["memory", "disk"] as const) {
    it(`the ${kind} store's cap holds while concurrent streams push 10x the cap through it`, async () => {
      const cap = 24 * BLOCK;
      const inner =
        kind === "memory"
          ? new MemoryBlockStore({ capacityBytes: cap })
          : await DiskBlockStore.open({ dir: join(dir, "cap"), capacityBytes: cap });
      const { store, peak } = watched(inner);
      const { engine } = rig({ store, proxyFsParallels: 16, readaheadBlocks: 6 });
      const source = new MemoryBlockSource({ kind: "origin", delayMs: 1 });
      const blobs = Array.from({ length: 6 }, () => blob(40 * BLOCK + 17));
      const descs = blobs.map((b) => source.add(b));
      const results = await Promise.all(descs.map((d) => drain(engine.streamBlob(d, [source]))));
      results.forEach((r, i) => expect(r.bytes.equals(blobs[i]!)).to.equal(true));
      expect(peak()).to.be.at.most(cap);
      expect(store.stats().evictions).to.be.greaterThan(0);
      await store.close();
    });
  }

  it("streams a blob 8x the cap with live memory under cap + readahead margin", async function () {
    this.timeout(30_000);
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const blockSize = 256 * 1024;
    const cap = 8 * 1024 * 1024;
    const readahead = 8;
    const inner = new MemoryBlockSource({ kind: "origin" });
    const desc = inner.add(blob(64 * 1024 * 1024));
    const { engine, store } = rig({
      store: new MemoryBlockStore({ capacityBytes: cap }),
      blockSizeBytes: blockSize,
      readaheadBlocks: readahead,
    });
    gc();
    const baseline = process.memoryUsage().arrayBuffers;
    let peak = 0;
    let chunks = 0;
    const sink = new Writable({
      write(_chunk, _enc, done) {
        if (++chunks % 16 !== 0) return done();
        // Backing stores are freed by a sweeper after the collection: let it run before looking.
        gc();
        setImmediate(() => {
          gc();
          peak = Math.max(peak, process.memoryUsage().arrayBuffers - baseline);
          done();
        });
      },
    });
    await pipeline(engine.streamBlob(desc, [new CopyingSource(inner)]), sink);
    const margin = (readahead + 2) * blockSize;
    expect(store.stats().bytes).to.be.at.most(cap);
    expect(peak).to.be.greaterThan(cap / 2);
    expect(peak).to.be.at.most(cap + margin + 2 * blockSize);
  });

  it("announced size: a blob announced at 2^44 bytes holds only what arrived, not state for 2^44", async function () {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const { engine } = rig({ blockSizeBytes: 64 * 1024, readaheadBlocks: 4 });
    gc();
    const before = process.memoryUsage();
    const stream = engine.streamBlob({ digest: `sha256:${"0".repeat(64)}`, size: 2 ** 44 }, [
      new ZeroSource(),
    ]);
    let received = 0;
    for await (const chunk of stream) {
      received += (chunk as Buffer).length;
      if (received >= 1024 * 1024) break;
    }
    gc();
    const after = process.memoryUsage();
    const grown = after.arrayBuffers - before.arrayBuffers + (after.heapUsed - before.heapUsed);
    expect(received).to.be.at.least(1024 * 1024);
    expect(grown).to.be.below(16 * 1024 * 1024);
  });
});

/** Zeros of any requested length: a registry serving whatever size it announced. */
class ZeroSource implements BlockSource {
  readonly kind = "origin";
  async fetchBlock(request: BlockRequest): Promise<Uint8Array> {
    return Buffer.alloc(request.length);
  }
}
