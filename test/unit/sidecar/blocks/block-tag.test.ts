import { expect } from "chai";
import { BLOCK_TAG_BYTES, BlockTagger } from "../../../../sidecar/blocks/block-tag.ts";

function block(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

describe("block tags (the per-block check of verified records)", () => {
  it("is AES-256-GCM's tag over the block as associated data (NIST GCM test case 13, no data)", () => {
    const tag = new BlockTagger(Buffer.alloc(32)).tag(Buffer.alloc(0));
    expect(tag.toString("hex")).to.equal("530f8afbc74536b9a963b4f1c4cb738b");
    expect(tag.byteLength).to.equal(BLOCK_TAG_BYTES);
  });

  it("gives the same block the same tag, and changes with any bit flipped, a byte cut or a zero added", () => {
    const tagger = new BlockTagger();
    const bytes = block(256 * 1024, 7);
    const tag = tagger.tag(bytes);
    expect(tagger.tag(Buffer.from(bytes)).equals(tag)).to.equal(true);
    for (const at of [0, 1, 15, 16, 4095, 128 * 1024, bytes.length - 1]) {
      for (const bit of [0, 7]) {
        const changed = Buffer.from(bytes);
        changed[at]! ^= 1 << bit;
        expect(tagger.tag(changed).equals(tag), `byte ${at} bit ${bit}`).to.equal(false);
      }
    }
    expect(tagger.tag(bytes.subarray(0, bytes.length - 1)).equals(tag)).to.equal(false);
    expect(tagger.tag(Buffer.concat([bytes, Buffer.alloc(1)])).equals(tag)).to.equal(false);
    expect(tagger.tag(Buffer.concat([bytes, Buffer.alloc(16)])).equals(tag)).to.equal(false);
  });

  it("draws its key at random: two taggers tag the same block differently", () => {
    const bytes = block(4096, 3);
    expect(new BlockTagger().tag(bytes).equals(new BlockTagger().tag(bytes))).to.equal(false);
  });

  it("refuses a key that is not 32 bytes, naming its length", () => {
    expect(() => new BlockTagger(Buffer.alloc(16))).to.throw(RangeError, "32 bytes, got 16");
  });
});
