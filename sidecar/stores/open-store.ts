/**
 * Builds the configured block store: memory (the default) or disk. The entry bound is sized from the
 * block size, so that the byte cap, not the entry cap, is what binds in practice (a blob's tail block
 * is shorter than a full one, hence the factor 2).
 */
import type { BlockBuffers } from "../buffers/block-pool.ts";
import type { BlockStore } from "./block-store.ts";
import { DiskBlockStore } from "./disk-store.ts";
import { MemoryBlockStore } from "./memory-store.ts";

interface CommonSettings {
  readonly capacityBytes: number;
  readonly blockSizeBytes: number;
  /** Block bytes the store lets go (sidecar/memory/block-reclaimer.ts). */
  readonly onRelease?: (bytes: number) => void;
}

export type StoreSettings =
  | (CommonSettings & {
      readonly mode: "memory";
      /** The block pool blocks come from (memory mode only: the disk store keeps no buffers). */
      readonly buffers?: BlockBuffers;
    })
  | (CommonSettings & {
      readonly mode: "disk";
      /** The emptyDir the store owns (emptied at start). */
      readonly dir: string;
    });

export async function openBlockStore(settings: StoreSettings): Promise<BlockStore> {
  const { capacityBytes, onRelease } = settings;
  const maxEntries = Math.max(1, 2 * Math.ceil(capacityBytes / settings.blockSizeBytes));
  const common = { capacityBytes, maxEntries, ...(onRelease ? { onRelease } : {}) };
  if (settings.mode === "memory") {
    return new MemoryBlockStore({ ...common, ...(settings.buffers ? { buffers: settings.buffers } : {}) });
  }
  return DiskBlockStore.open({ dir: settings.dir, ...common });
}
