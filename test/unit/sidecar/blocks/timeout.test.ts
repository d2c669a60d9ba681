import { expect } from "chai";
import { BlockUnavailableError } from "../../../../sidecar/blocks/errors.ts";
import { BLOCK, blob, drain, origin, rig, SlowSource, StalledSource } from "./engine-rig.ts";

describe("block engine: transferTimeout", () => {
  it("a stalled only source fails the stream with TRANSFER_TIMEOUT within the timeout", async () => {
    const { engine, metrics } = rig({ transferTimeoutMs: 150 });
    const stalled = new StalledSource();
    const started = Date.now();
    const got = await drain(engine.streamBlob(origin().add(blob(3 * BLOCK)), [stalled]));
    const elapsed = Date.now() - started;
    expect(got.error).to.be.instanceOf(BlockUnavailableError);
    const failures = (got.error as BlockUnavailableError).failures;
    expect(failures.map((f) => f.error.code)).to.deep.equal(["TRANSFER_TIMEOUT"]);
    expect(elapsed).to.be.within(140, 600);
    expect(stalled.aborts).to.be.greaterThan(0);
    expect(metrics.errors.get("TRANSFER_TIMEOUT")).to.be.greaterThan(0);
  });

  it("a source that ignores its abort signal still times out", async () => {
    const { engine } = rig({ transferTimeoutMs: 100 });
    const started = Date.now();
    const got = await drain(engine.streamBlob(origin().add(blob(BLOCK)), [new StalledSource(true)]));
    expect(got.error?.code).to.equal("BLOCK_UNAVAILABLE");
    expect(Date.now() - started).to.be.lessThan(600);
  });

  it("moves on to the next source after a stall, and completes", async () => {
    const { engine } = rig({ transferTimeoutMs: 100, readaheadBlocks: 4 });
    const registry = origin();
    const bytes = blob(4 * BLOCK);
    const started = Date.now();
    const got = await drain(engine.streamBlob(registry.add(bytes), [new StalledSource(), registry]));
    expect(got.error).to.equal(undefined);
    expect(got.bytes.equals(bytes)).to.equal(true);
    // The four blocks stall in parallel, so this costs about one timeout, not four.
    expect(Date.now() - started).to.be.lessThan(400);
  });

  it("does not abort a slow transfer that keeps making progress", async () => {
    const { engine } = rig({ transferTimeoutMs: 100 });
    const registry = origin();
    const bytes = blob(BLOCK);
    const desc = registry.add(bytes);
    // 300 ms in total per block, but a progress report every 50 ms.
    const got = await drain(engine.streamBlob(desc, [new SlowSource(registry, 300, 6)]));
    expect(got.error).to.equal(undefined);
    expect(got.bytes.equals(bytes)).to.equal(true);
  });

  it("passes connectTimeout to the source", async () => {
    const { engine } = rig({ connectTimeoutMs: 1234 });
    let seen: number | undefined;
    const source = {
      kind: "origin",
      fetchBlock: async (req: { length: number }, _s: AbortSignal, ctx?: { connectTimeoutMs: number }) => {
        seen = ctx?.connectTimeoutMs;
        return new Uint8Array(req.length);
      },
    };
    await drain(engine.streamBlob({ digest: `sha256:${"a".repeat(64)}`, size: 10 }, [source]));
    expect(seen).to.equal(1234);
  });
});
