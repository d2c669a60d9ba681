import { expect } from "chai";
import { BlockUnavailableError } from "../../../../sidecar/blocks/errors.ts";
import { BLOCK, blob, drain, FailingSource, origin, rig } from "./engine-rig.ts";

describe("block engine: sources in order, with fallback", () => {
  it("asks the first source and never the later ones while it delivers", async () => {
    const { engine } = rig();
    const peer = origin(0, "peer");
    const registry = origin();
    const bytes = blob(10 * BLOCK);
    const desc = peer.add(bytes);
    registry.add(bytes);
    const got = await drain(engine.streamBlob(desc, [peer, registry]));
    expect(got.bytes.equals(bytes)).to.equal(true);
    expect(peer.fetches).to.equal(10);
    expect(registry.fetches).to.equal(0);
  });

  for (const code of ["SOURCE_FAILED", "NOT_FOUND", "plain"] as const) {
    it(`falls back to the next source when one fails (${code})`, async () => {
      const { engine, metrics } = rig();
      const failing = new FailingSource(code);
      const registry = origin();
      const bytes = blob(6 * BLOCK);
      const got = await drain(engine.streamBlob(registry.add(bytes), [failing, registry]));
      expect(got.error).to.equal(undefined);
      expect(got.bytes.equals(bytes)).to.equal(true);
      expect(failing.calls).to.equal(6);
      expect(metrics.errors.get(code === "plain" ? "SOURCE_FAILED" : code)).to.equal(6);
    });
  }

  it("takes a per-block source list (owner -> next -> origin)", async () => {
    const { engine } = rig();
    const even = origin(0, "peer");
    const registry = origin();
    const bytes = blob(8 * BLOCK);
    const desc = registry.add(bytes);
    even.add(bytes);
    const got = await drain(
      engine.streamBlob(desc, (req) => (req.index % 2 === 0 ? [even, registry] : [registry])),
    );
    expect(got.bytes.equals(bytes)).to.equal(true);
    expect(even.fetches).to.equal(4);
    expect(registry.fetches).to.equal(4);
  });

  it("fails the stream with BLOCK_UNAVAILABLE, naming each source's failure, when all fail", async () => {
    const { engine } = rig();
    const a = new FailingSource("UNAUTHORIZED", "peer a");
    const b = new FailingSource("NOT_FOUND", "origin");
    const got = await drain(engine.streamBlob(origin().add(blob(3 * BLOCK)), [a, b]));
    expect(got.error).to.be.instanceOf(BlockUnavailableError);
    const error = got.error as BlockUnavailableError;
    expect(error.code).to.equal("BLOCK_UNAVAILABLE");
    expect(error.failures.map((f) => [f.source.id, f.error.code])).to.deep.equal([
      ["peer a", "UNAUTHORIZED"],
      ["origin", "NOT_FOUND"],
    ]);
    expect(got.bytes.length).to.equal(0);
  });

  it("treats a block of the wrong length as a source failure", async () => {
    const { engine } = rig();
    const registry = origin();
    const bytes = blob(2 * BLOCK);
    const desc = registry.add(bytes);
    const truncating = {
      kind: "peer",
      id: "truncating peer",
      fetchBlock: async () => new Uint8Array(10),
    };
    const got = await drain(engine.streamBlob(desc, [truncating, registry]));
    expect(got.bytes.equals(bytes)).to.equal(true);
    expect(registry.fetches).to.equal(2);
  });

  it("fails fast with no sources at all", async () => {
    const { engine } = rig();
    const got = await drain(engine.streamBlob(origin().add(blob(10)), []));
    expect(got.error?.code).to.equal("BLOCK_UNAVAILABLE");
  });
});
