import { expect } from "chai";
import { SIDECAR_MEMORY_BUDGET } from "../../../../lib/sidecar-memory.ts";
import { fetchSlots } from "../../../../sidecar/memory/fetch-slots.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

describe("fetch slots: blocks in flight stay inside the memory budget's share", () => {
  it("the defaults (128 fetches of 256 KiB blocks) fit the share as configured", () => {
    expect(fetchSlots(128, 256 * KiB)).to.deep.equal({ slots: 128 });
    expect(128 * 256 * KiB).to.be.at.most(SIDECAR_MEMORY_BUDGET.streamBlockBytes);
  });

  it("large blocks lower proxyFsParallels to what the share holds, and say from what", () => {
    expect(fetchSlots(128, 4 * MiB)).to.deep.equal({ slots: 8, limitedFrom: 128 });
    expect(fetchSlots(4096, 64 * KiB, 32 * MiB)).to.deep.equal({ slots: 512, limitedFrom: 4096 });
  });

  it("keeps at least two fetches, so that a stream can read ahead, even for blocks past the share", () => {
    expect(fetchSlots(128, 64 * MiB)).to.deep.equal({ slots: 2, limitedFrom: 128 });
    expect(fetchSlots(1, 64 * MiB)).to.deep.equal({ slots: 1 });
  });
});
