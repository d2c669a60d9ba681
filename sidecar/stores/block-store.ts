/**
 * A bounded store of blocks, keyed by block key (block-key.ts). Two implementations behind this one
 * interface: memory (the sidecar default) and disk (an emptyDir). Both:
 * - never hold more than `capacityBytes` (nor `maxEntries` entries), even transiently while several puts
 *   race; a block larger than the capacity is simply not stored;
 * - evict least recently used blocks, blocks the peer does not own before blocks it owns (a peer is
 *   asked for the blocks it owns, so those are the ones worth keeping);
 * - count hits, misses and evictions for metrics.
 * Stored bytes are shared, not copied: neither the store nor its callers may mutate them.
 */

export interface PutOptions {
  /** This peer owns the block (rendezvous hashing): evict it only when no unowned block is left. */
  readonly owned?: boolean;
}

export interface StoreStats {
  readonly bytes: number;
  readonly entries: number;
  readonly hits: number;
  readonly misses: number;
  readonly evictions: number;
  readonly capacityBytes: number;
  readonly maxEntries: number;
}

export interface BlockStore {
  /** The block's bytes, or undefined (a miss). A hit makes the block the most recently used. */
  get(key: string): Promise<Uint8Array | undefined>;
  /**
   * Stores (or replaces) a block, evicting others to make room. Resolves false when it was not stored
   * (larger than the capacity, or no room while other writes are in progress). `owned` left undefined
   * keeps the class of a block already stored.
   */
  put(key: string, bytes: Uint8Array, options?: PutOptions): Promise<boolean>;
  /** Removes a block (also one being written); resolves whether it was there. */
  delete(key: string): Promise<boolean>;
  /** Whether a block is stored; does not count as a use. */
  has(key: string): boolean;
  stats(): StoreStats;
  /** Releases resources (the disk store removes its files). */
  close(): Promise<void>;
}
