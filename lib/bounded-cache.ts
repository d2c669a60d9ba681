/**
 * The project's caches are lru-cache's LRUCache (least recently used goes first, optional expiry per
 * entry). This sets, once, the options every cache bounded by entry count shares:
 * - the bound is kept through `maxSize` with each entry counting 1, not through `max`: `max` allocates
 *   arrays of that many slots up front, and a sidecar's 65,536-entry grant table would cost about 2 MB
 *   in every pod while it usually holds a few hundred entries;
 * - the clock is read on every check (`ttlResolution: 0`), so an injected clock is exact.
 *
 * Expiry is lru-cache's: an entry is gone once more than its `ttl` has passed. A `ttl` of 0 means "never
 * expires", so a caller that computes the validity left stores nothing when it is not positive.
 */
import { LRUCache } from "lru-cache";

export function boundedCache<K extends {}, V extends {}>(
  maxEntries: number,
  now?: () => number,
): LRUCache<K, V> {
  return new LRUCache<K, V>({
    maxSize: maxEntries,
    sizeCalculation: () => 1,
    ttlResolution: 0,
    ...(now ? { perf: { now } } : {}),
  });
}
