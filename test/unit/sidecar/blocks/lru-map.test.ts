import { expect } from "chai";
import { LruMap } from "../../../../sidecar/blocks/lru-map.ts";

describe("bounded LRU map", () => {
  it("drops the least recently used entries past its weight", () => {
    const map = new LruMap<string, number>(3);
    map.set("a", 1);
    map.set("b", 2);
    map.set("c", 3);
    map.get("a");
    map.set("d", 4);
    expect(["a", "b", "c", "d"].filter((k) => map.has(k))).to.deep.equal(["a", "c", "d"]);
  });

  it("weighs entries and ignores one heavier than the bound", () => {
    const map = new LruMap<string, string>(10, (v) => v.length);
    map.set("x", "12345");
    map.set("y", "123456");
    expect(map.has("x")).to.equal(false);
    expect(map.weight).to.equal(6);
    map.set("z", "12345678901");
    expect(map.has("z")).to.equal(false);
    expect(map.weight).to.equal(6);
  });
});
