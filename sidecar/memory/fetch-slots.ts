/**
 * How many block fetches may be in flight at once: the configured proxyFsParallels, unless that many
 * blocks would hold more than the memory budget's share for blocks in flight (each fetch fills one
 * block-sized buffer). 128 fetches of 256 KiB blocks are 32 MiB; 128 fetches of 64 MiB blocks would be
 * 8 GiB, far past any sidecar's memory limit. At least 2, so that a stream can read ahead at all.
 */
import { SIDECAR_MEMORY_BUDGET } from "../../lib/sidecar-memory.ts";

export interface FetchSlots {
  readonly slots: number;
  /** Set when the budget lowered the configured value (worth a log line at start). */
  readonly limitedFrom?: number;
}

export function fetchSlots(
  proxyFsParallels: number,
  blockSizeBytes: number,
  inFlightBytes: number = SIDECAR_MEMORY_BUDGET.streamBlockBytes,
): FetchSlots {
  const affordable = Math.max(2, Math.floor(inFlightBytes / blockSizeBytes));
  return affordable < proxyFsParallels
    ? { slots: affordable, limitedFrom: proxyFsParallels }
    : { slots: proxyFsParallels };
}
