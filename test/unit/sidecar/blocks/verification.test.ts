import { expect } from "chai";
import { blockCount } from "../../../../sidecar/blocks/block-plan.ts";
import { blockKey } from "../../../../sidecar/blocks/block-plan.ts";
import type { BadBlockEvent } from "../../../../sidecar/blocks/block-fetcher.ts";
import { DigestMismatchError } from "../../../../sidecar/blocks/errors.ts";
import type { BlockStore } from "../../../../sidecar/stores/block-store.ts";
import type { BlobDescriptor } from "../../../../sidecar/blocks/block-source.ts";
import { BLOCK, blob, drain, LyingSource, origin, rig } from "./engine-rig.ts";

function cachedBlocks(store: BlockStore, desc: BlobDescriptor): number[] {
  const out: number[] = [];
  for (let i = 0; i < blockCount(desc.size, BLOCK); i++) if (store.has(blockKey(desc.digest, i))) out.push(i);
  return out;
}

describe("block engine: end-to-end verification", () => {
  for (const lie of [0, 5, 11]) {
    it(`a source lying about block ${lie} of 12: the stream fails before the last bytes, nothing stays cached`, async () => {
      const { engine, store } = rig();
      const bytes = blob(11 * BLOCK + 100);
      const registry = origin();
      const desc = registry.add(bytes);
      const liar = new LyingSource("peer 10.0.0.9:65002", bytes, [lie]);
      const got = await drain(engine.streamBlob(desc, [liar, registry]));
      expect(got.error).to.be.instanceOf(DigestMismatchError);
      expect(got.error?.code).to.equal("DIGEST_MISMATCH");
      // The last block (100 bytes) is held back: the consumer never has a complete blob.
      expect(got.bytes.length).to.equal(11 * BLOCK);
      expect(got.bytes.length).to.be.lessThan(desc.size);
      expect(cachedBlocks(store, desc)).to.deep.equal([]);
      expect(engine.isVerified(desc)).to.equal(false);
    });
  }

  it("with no authoritative source, reports that it could not compare", async () => {
    const { engine, store } = rig();
    const bytes = blob(4 * BLOCK);
    const desc = origin().add(bytes);
    const liar = new LyingSource("peer x", bytes, [1]);
    const got = await drain(engine.streamBlob(desc, [liar]));
    const report = await (got.error as DigestMismatchError).recovery;
    expect(report.recovered).to.equal(false);
    expect(report.error?.code).to.equal("BLOCK_UNAVAILABLE");
    expect(cachedBlocks(store, desc)).to.deep.equal([]);
  });

  it("recovers from the authoritative source and names the source of each bad block", async () => {
    const bad: BadBlockEvent[] = [];
    const { engine, store } = rig({ onBadBlock: (e) => bad.push(e) });
    const bytes = blob(9 * BLOCK);
    const registry = origin();
    const desc = registry.add(bytes);
    const honest = new LyingSource("peer honest", bytes, []);
    const liar = new LyingSource("peer liar", bytes, [2, 7]);
    // Rendezvous-like ownership: the liar owns blocks 2, 3, 7; the honest peer the rest.
    const sources = (req: { index: number }) =>
      [2, 3, 7].includes(req.index) ? [liar, registry] : [honest, registry];
    const got = await drain(engine.streamBlob(desc, sources, { authoritative: registry }));
    const error = got.error as DigestMismatchError;
    expect(error).to.be.instanceOf(DigestMismatchError);
    const report = await error.recovery;
    expect(report.recovered).to.equal(true);
    expect(report.badBlocks.map((b) => [b.index, b.source?.id])).to.deep.equal([
      [2, "peer liar"],
      [7, "peer liar"],
    ]);
    expect(bad.map((e) => [e.index, e.source?.id])).to.deep.equal([
      [2, "peer liar"],
      [7, "peer liar"],
    ]);
    // The authoritative copy is now cached and the blob verified: a retry completes without the peers.
    expect(engine.isVerified(desc)).to.equal(true);
    expect(cachedBlocks(store, desc)).to.have.length(9);
    const liarFetches = liar.fetches;
    const retry = await drain(engine.streamBlob(desc, sources, { authoritative: registry }));
    expect(retry.error).to.equal(undefined);
    expect(retry.bytes.equals(bytes)).to.equal(true);
    expect(liar.fetches).to.equal(liarFetches);
  });

  it("checks each block of a verified blob on its own: a liar is caught per block and the stream completes", async () => {
    const bad: BadBlockEvent[] = [];
    const { engine, store } = rig({ onBadBlock: (e) => bad.push(e) });
    const bytes = blob(6 * BLOCK);
    const registry = origin();
    const desc = registry.add(bytes);
    await drain(engine.streamBlob(desc, [registry]));
    expect(engine.isVerified(desc)).to.equal(true);
    for (let i = 0; i < 6; i++) await store.delete(blockKey(desc.digest, i));
    const liar = new LyingSource("peer liar", bytes, [1, 4]);
    const got = await drain(engine.streamBlob(desc, [liar, registry]));
    expect(got.error).to.equal(undefined);
    expect(got.bytes.equals(bytes)).to.equal(true);
    expect(bad.map((e) => [e.index, e.source?.id])).to.deep.equal([
      [1, "peer liar"],
      [4, "peer liar"],
    ]);
    // Only good bytes were cached.
    for (let i = 0; i < 6; i++) {
      const cached = await store.get(blockKey(desc.digest, i));
      expect(Buffer.from(cached!).equals(bytes.subarray(i * BLOCK, (i + 1) * BLOCK))).to.equal(true);
    }
  });

  it("drops a corrupted cache entry of a verified blob and refetches it", async () => {
    const { engine, store } = rig();
    const bytes = blob(3 * BLOCK);
    const registry = origin();
    const desc = registry.add(bytes);
    await drain(engine.streamBlob(desc, [registry]));
    await store.put(blockKey(desc.digest, 1), new Uint8Array(BLOCK));
    const got = await drain(engine.streamBlob(desc, [registry]));
    expect(got.bytes.equals(bytes)).to.equal(true);
    expect(registry.fetches).to.equal(4);
  });

  it("fails an empty blob whose digest is not that of no bytes", async () => {
    const { engine } = rig();
    const registry = origin();
    const desc = registry.add(blob(0));
    const wrong = { digest: `sha256:${"0".repeat(64)}`, size: 0 };
    expect((await drain(engine.streamBlob(desc, [registry]))).error).to.equal(undefined);
    expect((await drain(engine.streamBlob(wrong, [registry]))).error?.code).to.equal("DIGEST_MISMATCH");
  });
});
