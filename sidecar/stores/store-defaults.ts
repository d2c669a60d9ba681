/**
 * Default bounds of the stores. Every cache is bounded by default in bytes and in entries. The memory
 * default matches design.md (512 MiB per pod), the disk default is the seed's `capacity` default. The
 * entry defaults let the byte defaults fill with 8 KiB (memory) or 256 KiB (disk) blocks; open-store.ts
 * sizes them from the configured block size instead.
 */
import { sidecarOption } from "../../contract/sidecar-options.ts";

export const DEFAULT_MEMORY_CAPACITY_BYTES = 512 * 1024 * 1024;
/** The option table is the one place the seed's `capacity` default is written. */
export const DEFAULT_DISK_CAPACITY_BYTES = Number(sidecarOption("capacityBytes").default);
export const DEFAULT_MAX_ENTRIES = 65536;
/** 4 GiB of the default 256 KiB blocks; open-store.ts sizes it from the real block size. */
export const DEFAULT_DISK_MAX_ENTRIES = 16384;

export function checkBounds(name: string, capacityBytes: number, maxEntries: number): void {
  if (!Number.isSafeInteger(capacityBytes) || capacityBytes < 0) {
    throw new RangeError(`${name}: capacityBytes must be a non-negative integer, got ${capacityBytes}`);
  }
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
    throw new RangeError(`${name}: maxEntries must be a positive integer, got ${maxEntries}`);
  }
}
