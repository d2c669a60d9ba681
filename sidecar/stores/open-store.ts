/**
 * Builds the configured block store: memory (the default) or disk. The entry bound is sized from the
 * block size, so that the byte cap, not the entry cap, is what binds in practice (a blob's tail block
 * is shorter than a full one, hence the factor 2).
 */
import type { BlockStore } from "./block-store.ts";
import { DiskBlockStore } from "./disk-store.ts";
import { MemoryBlockStore } from "./memory-store.ts";

export type StoreSettings =
  | { readonly mode: "memory"; readonly capacityBytes: number; readonly blockSizeBytes: number }
  | {
      readonly mode: "disk";
      readonly capacityBytes: number;
      readonly blockSizeBytes: number;
      /** The emptyDir the store owns (emptied at start). */
      readonly dir: string;
    };

export async function openBlockStore(settings: StoreSettings): Promise<BlockStore> {
  const maxEntries = Math.max(1, 2 * Math.ceil(settings.capacityBytes / settings.blockSizeBytes));
  if (settings.mode === "memory") {
    return new MemoryBlockStore({ capacityBytes: settings.capacityBytes, maxEntries });
  }
  return DiskBlockStore.open({ dir: settings.dir, capacityBytes: settings.capacityBytes, maxEntries });
}
