import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openBlockStore } from "../../../../sidecar/stores/open-store.ts";

describe("openBlockStore", () => {
  it("sizes the entry bound from the block size, for memory and disk", async () => {
    const memory = await openBlockStore({ mode: "memory", capacityBytes: 1 << 20, blockSizeBytes: 1 << 16 });
    expect(memory.stats()).to.include({ capacityBytes: 1 << 20, maxEntries: 32 });
    const dir = await mkdtemp(join(tmpdir(), "acr-p2p-open-store-"));
    try {
      const disk = await openBlockStore({
        mode: "disk",
        dir,
        capacityBytes: 1 << 22,
        blockSizeBytes: 1 << 18,
      });
      expect(disk.stats()).to.include({ capacityBytes: 1 << 22, maxEntries: 32 });
      await disk.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
