import { expect } from "chai";
import { BLOCK, blob, drain, origin, rig } from "./engine-rig.ts";

describe("block engine: streaming", () => {
  for (const size of [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 10 * BLOCK, 37 * BLOCK + 123]) {
    it(`streams a ${size}-byte blob in order, byte for byte`, async () => {
      const { engine } = rig();
      const source = origin(1);
      const bytes = blob(size);
      const got = await drain(engine.streamBlob(source.add(bytes), [source]));
      expect(got.error).to.equal(undefined);
      expect(got.bytes.equals(bytes)).to.equal(true);
    });
  }

  it("serves a second stream from the store, with no fetch", async () => {
    const { engine, metrics } = rig();
    const source = origin();
    const bytes = blob(20 * BLOCK);
    const desc = source.add(bytes);
    await drain(engine.streamBlob(desc, [source]));
    const fetches = source.fetches;
    const again = await drain(engine.streamBlob(desc, [source]));
    expect(again.bytes.equals(bytes)).to.equal(true);
    expect(source.fetches).to.equal(fetches);
    expect(metrics.bytes.get("cache")).to.equal(bytes.length);
    expect(metrics.bytes.get("origin")).to.equal(bytes.length);
  });

  it("keeps at most `readaheadBlocks` fetches ahead per stream", async () => {
    const { engine } = rig({ readaheadBlocks: 3, proxyFsParallels: 64 });
    const source = origin(5);
    await drain(engine.streamBlob(source.add(blob(30 * BLOCK)), [source]));
    expect(source.peakInflight).to.equal(3);
  });

  it("bounds fetches across streams by proxyFsParallels", async () => {
    const { engine, metrics } = rig({ readaheadBlocks: 8, proxyFsParallels: 5 });
    const source = origin(5);
    const blobs = Array.from({ length: 4 }, () => source.add(blob(24 * BLOCK)));
    const results = await Promise.all(blobs.map((b) => drain(engine.streamBlob(b, [source]))));
    expect(results.every((r) => r.error === undefined)).to.equal(true);
    expect(source.peakInflight).to.equal(5);
    expect(metrics.inflightPeak).to.equal(5);
    expect(engine.stats()).to.include({ slotsInUse: 0, slotsWaiting: 0, flights: 0 });
  });

  it("the readahead budget: streams together read ahead at most its bytes beyond their next two blocks", async () => {
    const { engine } = rig({ readaheadBlocks: 8, proxyFsParallels: 64, readaheadBudgetBytes: 4 * BLOCK });
    const source = origin(5);
    const blobs = Array.from({ length: 4 }, (_, i) => blob(24 * BLOCK + i));
    const descs = blobs.map((b) => source.add(b));
    let peakBorrowed = 0;
    const sampler = setInterval(
      () => (peakBorrowed = Math.max(peakBorrowed, engine.stats().readaheadBytes!)),
      1,
    );
    const results = await Promise.all(descs.map((d) => drain(engine.streamBlob(d, [source]))));
    clearInterval(sampler);
    results.forEach((r, i) => expect(r.bytes.equals(blobs[i]!), `blob ${i}`).to.equal(true));
    // Without the budget the four windows would fetch 4 x 8 blocks at once; with it, 4 x 2 + 4.
    expect(source.peakInflight).to.be.at.most(4 * 2 + 4);
    expect(source.peakInflight).to.be.greaterThan(4 * 2);
    expect(peakBorrowed).to.equal(4 * BLOCK);
    expect(engine.stats().readaheadBytes).to.equal(0);
  });

  it("the readahead budget: a stream destroyed mid-blob gives back what it borrowed", async () => {
    const { engine } = rig({ readaheadBlocks: 8, readaheadBudgetBytes: 64 * BLOCK });
    const source = origin(20);
    const stream = engine.streamBlob(source.add(blob(40 * BLOCK)), [source]);
    await new Promise<Buffer>((resolve) => stream.once("data", resolve));
    expect(engine.stats().readaheadBytes).to.be.greaterThan(0);
    stream.destroy();
    expect(engine.stats().readaheadBytes).to.equal(0);
  });

  it("the readahead budget spent: a stream still gets its next two blocks and completes", async () => {
    const { engine } = rig({ readaheadBlocks: 8, readaheadBudgetBytes: 0 });
    const source = origin(2);
    const bytes = blob(12 * BLOCK + 7);
    const got = await drain(engine.streamBlob(source.add(bytes), [source]));
    expect(got.bytes.equals(bytes)).to.equal(true);
    expect(source.peakInflight).to.equal(2);
  });

  it("emits early bytes while later blocks are still being fetched", async () => {
    const { engine } = rig({ readaheadBlocks: 2 });
    const source = origin(20);
    const stream = engine.streamBlob(source.add(blob(20 * BLOCK)), [source]);
    const first = await new Promise<Buffer>((resolve) => stream.once("data", resolve));
    expect(first.length).to.equal(BLOCK);
    expect(source.fetches).to.be.lessThan(6);
    stream.destroy();
  });

  it("refuses a digest that is not sha256", () => {
    const { engine } = rig();
    expect(() => engine.streamBlob({ digest: "md5:abc", size: 1 }, [origin()]))
      .to.throw()
      .with.property("code", "DIGEST_UNSUPPORTED");
  });
});
