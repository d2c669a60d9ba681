import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { blockKey } from "../../../../sidecar/blocks/block-plan.ts";
import type { BlockStore } from "../../../../sidecar/stores/block-store.ts";
import { DiskBlockStore } from "../../../../sidecar/stores/disk-store.ts";
import { MemoryBlockStore } from "../../../../sidecar/stores/memory-store.ts";
import { BLOCK, blob, drain, LyingSource, origin, rig } from "./engine-rig.ts";

describe("block engine over each store", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "acr-p2p-engine-stores-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const stores: Record<string, (capacityBytes: number) => Promise<BlockStore>> = {
    memory: async (capacityBytes) => new MemoryBlockStore({ capacityBytes }),
    disk: (capacityBytes) => DiskBlockStore.open({ dir: join(dir, String(Math.random())), capacityBytes }),
  };

  for (const [kind, open] of Object.entries(stores)) {
    describe(`${kind} store`, () => {
      it("serves a warm stream from the store", async () => {
        const store = await open(1 << 20);
        const { engine } = rig({ store });
        const registry = origin();
        const bytes = blob(30 * BLOCK + 5);
        const desc = registry.add(bytes);
        await drain(engine.streamBlob(desc, [registry]));
        const again = await drain(engine.streamBlob(desc, [registry]));
        expect(again.bytes.equals(bytes)).to.equal(true);
        expect(registry.fetches).to.equal(31);
        await store.close();
      });

      it("keeps nothing of a blob that failed verification", async () => {
        const store = await open(1 << 20);
        const { engine } = rig({ store });
        const bytes = blob(8 * BLOCK);
        const desc = origin().add(bytes);
        const got = await drain(engine.streamBlob(desc, [new LyingSource("peer", bytes, [3])]));
        expect(got.error?.code).to.equal("DIGEST_MISMATCH");
        await new Promise((r) => setTimeout(r, 20));
        for (let i = 0; i < 8; i++) expect(store.has(blockKey(desc.digest, i))).to.equal(false);
        expect(store.stats().bytes).to.equal(0);
        await store.close();
      });

      it("marks the blocks this peer owns, which are evicted last", async () => {
        const store = await open(10 * BLOCK);
        const { engine } = rig({ store, isOwned: (req) => req.index < 4 });
        const registry = origin();
        const desc = registry.add(blob(30 * BLOCK));
        await drain(engine.streamBlob(desc, [registry]));
        const kept = Array.from({ length: 30 }, (_, i) => i).filter((i) =>
          store.has(blockKey(desc.digest, i)),
        );
        // Owned blocks stay; of the rest, the most recently stored fill the cap. Blocks are fetched several
        // at a time and a disk write completes when it completes, so "most recent" is the last few blocks,
        // not exactly the last six indices.
        expect(kept.slice(0, 4)).to.deep.equal([0, 1, 2, 3]);
        const unowned = kept.slice(4);
        expect(unowned).to.have.length(6);
        for (const index of unowned) expect(index).to.be.at.least(20);
        await store.close();
      });
    });
  }
});
