/**
 * Probe misses: a blob whose probes kept missing, none hitting, is not probed for (that blob only)
 * until a while after its last miss; a recent hit keeps it probed for.
 */
import { expect } from "chai";
import { ProbeMisses } from "../../../sidecar/peer/probe-misses.ts";

const BLOB = "sha256:" + "a".repeat(64);
const OTHER = "sha256:" + "b".repeat(64);

function misses(opts: { limit?: number; maxEntries?: number } = {}) {
  let now = 1_000;
  const probeMisses = new ProbeMisses({
    limit: opts.limit ?? 3,
    forgetAfterMs: 10_000,
    ...(opts.maxEntries !== undefined && { maxEntries: opts.maxEntries }),
    now: () => now,
  });
  return { probeMisses, advance: (ms: number) => (now += ms) };
}

describe("probe misses", () => {
  it("skips a blob after `limit` misses and no hit, and only that blob", () => {
    const { probeMisses } = misses();
    probeMisses.missed(BLOB);
    probeMisses.missed(BLOB);
    expect(probeMisses.skip(BLOB)).to.equal(false);
    probeMisses.missed(BLOB);
    expect(probeMisses.skip(BLOB)).to.equal(true);
    expect(probeMisses.skip(OTHER)).to.equal(false);
  });

  it("keeps probing for a blob whatever misses follow a hit within forgetAfterMs, and not after", () => {
    const { probeMisses, advance } = misses();
    probeMisses.held(BLOB);
    advance(6_000);
    for (let i = 0; i < 5; i++) probeMisses.missed(BLOB);
    expect(probeMisses.skip(BLOB)).to.equal(false);
    advance(4_001);
    expect(probeMisses.skip(BLOB)).to.equal(true);
  });

  it("probes again once forgetAfterMs passed since the last miss", () => {
    const { probeMisses, advance } = misses();
    for (let i = 0; i < 3; i++) probeMisses.missed(BLOB);
    advance(10_000);
    expect(probeMisses.skip(BLOB)).to.equal(true);
    advance(1);
    expect(probeMisses.skip(BLOB)).to.equal(false);
    // Forgotten: the count starts again.
    probeMisses.missed(BLOB);
    expect(probeMisses.skip(BLOB)).to.equal(false);
  });

  it("stays bounded: past maxEntries blobs it forgets them all, and so probes again", () => {
    const { probeMisses } = misses({ limit: 1, maxEntries: 1 });
    probeMisses.missed(BLOB);
    expect(probeMisses.skip(BLOB)).to.equal(true);
    probeMisses.missed(OTHER);
    expect(probeMisses.skip(BLOB)).to.equal(false);
    expect(probeMisses.skip(OTHER)).to.equal(true);
  });
});
