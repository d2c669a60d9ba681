import { expect } from "chai";
import { boundedCache } from "../../../lib/bounded-cache.ts";

describe("boundedCache", () => {
  it("drops the least recently used entry past its bound", () => {
    const cache = boundedCache<string, number>(2);
    cache.set("a", 1);
    cache.set("b", 2);
    expect(cache.get("a")).to.equal(1); // a is now the most recent
    cache.set("c", 3);
    expect(cache.get("b")).to.equal(undefined);
    expect([...cache.keys()].sort()).to.deep.equal(["a", "c"]);
  });

  it("expires an entry once more than its ttl has passed, on the injected clock", () => {
    let now = 1_000;
    const cache = boundedCache<string, number>(10, () => now);
    cache.set("short", 1, { ttl: 100 });
    cache.set("long", 2, { ttl: 10_000 });
    now = 1_100;
    expect(cache.get("short")).to.equal(1);
    now = 1_101;
    expect(cache.get("short")).to.equal(undefined);
    expect(cache.get("long")).to.equal(2);
  });

  it("holds a large bound without allocating for it", () => {
    const cache = boundedCache<string, number>(1_000_000);
    for (let i = 0; i < 5; i++) cache.set(`k${i}`, i);
    expect(cache.size).to.equal(5);
    expect(cache.max, "the bound is kept by maxSize, not by preallocated slots").to.equal(0);
    expect(cache.maxSize).to.equal(1_000_000);
  });
});
