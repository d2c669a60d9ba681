import { expect } from "chai";
import { blockKey } from "../../../../sidecar/blocks/block-plan.ts";
import { BLOCK, blob, drain, origin, rig } from "./engine-rig.ts";

describe("block engine: single-flight", () => {
  it("three concurrent streams of one blob fetch each block exactly once", async () => {
    const { engine, metrics } = rig({ readaheadBlocks: 4 });
    const source = origin(3);
    const bytes = blob(25 * BLOCK + 7);
    const desc = source.add(bytes);
    const results = await Promise.all([1, 2, 3].map(() => drain(engine.streamBlob(desc, [source]))));
    for (const r of results) {
      expect(r.error).to.equal(undefined);
      expect(r.bytes.equals(bytes)).to.equal(true);
    }
    expect(source.fetches).to.equal(26);
    for (let i = 0; i < 26; i++) expect(source.fetchesByBlock.get(blockKey(desc.digest, i))).to.equal(1);
    // Every byte served is accounted once: fetched, joined or read from the store.
    const served = ["origin", "shared", "cache"].reduce((n, k) => n + (metrics.bytes.get(k) ?? 0), 0);
    expect(served).to.equal(3 * bytes.length);
    expect(metrics.bytes.get("origin")).to.equal(bytes.length);
  });

  it("concurrent getBlock calls share one fetch", async () => {
    const { engine } = rig();
    const source = origin(10);
    const desc = source.add(blob(4 * BLOCK));
    const got = await Promise.all([0, 1, 2, 3, 4, 5].map(() => engine.getBlock(desc, 2, [source])));
    expect(source.fetches).to.equal(1);
    for (const b of got) expect(b.byteLength).to.equal(BLOCK);
  });

  it("keeps a shared fetch going when one of its streams goes away", async () => {
    const { engine } = rig({ readaheadBlocks: 2 });
    const source = origin(5);
    const bytes = blob(12 * BLOCK);
    const desc = source.add(bytes);
    const leaving = engine.streamBlob(desc, [source]);
    const staying = drain(engine.streamBlob(desc, [source]));
    leaving.once("data", () => leaving.destroy());
    const result = await staying;
    expect(result.error).to.equal(undefined);
    expect(result.bytes.equals(bytes)).to.equal(true);
  });
});
