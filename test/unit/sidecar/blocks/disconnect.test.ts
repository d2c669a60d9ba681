import { expect } from "chai";
import { BLOCK, blob, origin, rig, sleep } from "./engine-rig.ts";

describe("block engine: consumers going away", () => {
  it("destroying a stream stops its readahead", async () => {
    const { engine } = rig({ readaheadBlocks: 4 });
    const source = origin(20);
    const stream = engine.streamBlob(source.add(blob(200 * BLOCK)), [source]);
    await new Promise((resolve) => stream.once("data", resolve));
    stream.destroy();
    await sleep(30);
    const fetches = source.fetches;
    expect(source.inflight).to.equal(0);
    await sleep(100);
    expect(source.fetches).to.equal(fetches);
    expect(fetches).to.be.lessThan(10);
    expect(engine.stats()).to.include({ flights: 0, slotsInUse: 0 });
  });

  it("an aborted signal stops the stream and its fetches, and is not counted as an error", async () => {
    const { engine, metrics } = rig({ readaheadBlocks: 4 });
    const source = origin(20);
    const abort = new AbortController();
    const stream = engine.streamBlob(source.add(blob(200 * BLOCK)), [source], { signal: abort.signal });
    const closed = new Promise((resolve) => stream.once("close", resolve));
    stream.resume();
    await sleep(50);
    abort.abort();
    await closed;
    await sleep(30);
    const fetches = source.fetches;
    await sleep(100);
    expect(source.fetches).to.equal(fetches);
    expect(source.inflight).to.equal(0);
    expect([...metrics.errors.keys()]).to.deep.equal([]);
  });

  it("a consumer that stops reading holds back the fetching (backpressure)", async () => {
    const { engine } = rig({ readaheadBlocks: 3 });
    const source = origin(1);
    const stream = engine.streamBlob(source.add(blob(100 * BLOCK)), [source]);
    stream.pause();
    stream.read(0);
    await sleep(100);
    // The readahead window plus what the Readable buffers (its high-water mark is one block).
    expect(source.fetches).to.be.at.most(3 + 3);
    stream.destroy();
  });
});
