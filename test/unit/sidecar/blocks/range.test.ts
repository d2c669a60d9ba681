import { expect } from "chai";
import { blockKey } from "../../../../sidecar/blocks/block-plan.ts";
import { BlobNotVerifiedError, RangeInvalidError } from "../../../../sidecar/blocks/errors.ts";
import { BLOCK, blob, drain, LyingSource, origin, rig } from "./engine-rig.ts";

describe("block engine: Range reads of verified blobs", () => {
  it("refuses a blob that was never verified (the caller passes the Range to the origin)", () => {
    const { engine } = rig();
    const registry = origin();
    const desc = registry.add(blob(3 * BLOCK));
    expect(engine.isVerified(desc)).to.equal(false);
    expect(() => engine.readRange(desc, 0, 10, [registry])).to.throw(BlobNotVerifiedError);
  });

  it("refuses a blob whose verification failed", async () => {
    const { engine } = rig();
    const bytes = blob(3 * BLOCK);
    const desc = origin().add(bytes);
    await drain(engine.streamBlob(desc, [new LyingSource("peer", bytes, [1])]));
    expect(() => engine.readRange(desc, 0, 10, [])).to.throw(BlobNotVerifiedError);
  });

  it("serves exact byte ranges of a verified blob", async () => {
    const { engine } = rig();
    const registry = origin();
    const bytes = blob(5 * BLOCK + 321);
    const desc = registry.add(bytes);
    await drain(engine.streamBlob(desc, [registry]));
    const ranges: [number, number][] = [
      [0, 0],
      [0, bytes.length - 1],
      [10, 20],
      [BLOCK - 1, BLOCK],
      [BLOCK, 2 * BLOCK - 1],
      [BLOCK + 5, 4 * BLOCK + 7],
      [bytes.length - 1, bytes.length - 1],
      [5 * BLOCK, bytes.length - 1],
    ];
    for (const [start, end] of ranges) {
      const got = await drain(engine.readRange(desc, start, end, [registry]));
      expect(got.error).to.equal(undefined);
      expect(got.bytes.equals(bytes.subarray(start, end + 1)), `${start}-${end}`).to.equal(true);
    }
  });

  it("refuses impossible ranges", async () => {
    const { engine } = rig();
    const registry = origin();
    const desc = registry.add(blob(2 * BLOCK));
    await drain(engine.streamBlob(desc, [registry]));
    for (const [start, end] of [
      [-1, 5],
      [5, 4],
      [0, 2 * BLOCK],
      [0.5, 3],
    ] as const) {
      expect(() => engine.readRange(desc, start, end, [registry])).to.throw(RangeInvalidError);
    }
  });

  it("refetches evicted blocks and checks them against the verified record", async () => {
    const { engine, store } = rig();
    const registry = origin();
    const bytes = blob(4 * BLOCK);
    const desc = registry.add(bytes);
    await drain(engine.streamBlob(desc, [registry]));
    await store.delete(blockKey(desc.digest, 2));
    const liar = new LyingSource("peer liar", bytes, [2]);
    const got = await drain(engine.readRange(desc, BLOCK + 1, 3 * BLOCK + 1, [liar, registry]));
    expect(got.bytes.equals(bytes.subarray(BLOCK + 1, 3 * BLOCK + 2))).to.equal(true);
    expect(liar.fetches).to.equal(1);
  });
});
