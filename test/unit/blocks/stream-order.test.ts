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
