/**
 * The memory block store (the sidecar's default). put runs synchronously from its first line to the
 * insert, so concurrent puts cannot interleave and the byte cap holds at every instant.
 *
 * With a block pool, the store holds a lease of its own on every block it keeps (taken in put, released
 * when the block leaves), and get hands out that lease: the caller shares it before its next await.
 */
import { UNPOOLED } from "../buffers/block-pool.ts";
import type { BlockBuffers } from "../buffers/block-pool.ts";
import type { BlockStore, PutOptions, StoreStats } from "./block-store.ts";
import { OwnedLru } from "./owned-lru.ts";
import { checkBounds, DEFAULT_MAX_ENTRIES, DEFAULT_MEMORY_CAPACITY_BYTES } from "./store-defaults.ts";

export interface MemoryStoreOptions {
  /** Hard cap on stored bytes; default 512 MiB. */
  readonly capacityBytes?: number;
  readonly maxEntries?: number;
  /** A block the store no longer keeps (evicted, deleted or replaced): its bytes can be collected. */
  readonly onRelease?: (bytes: number) => void;
  /** The block pool the stored blocks come from; default none. */
  readonly buffers?: BlockBuffers;
}

interface Entry {
  readonly size: number;
  readonly bytes: Uint8Array;
}

export class MemoryBlockStore implements BlockStore {
  readonly #capacity: number;
  readonly #maxEntries: number;
  readonly #lru = new OwnedLru<Entry>();
  readonly #onRelease: (bytes: number) => void;
  readonly #buffers: BlockBuffers;
  #hits = 0;
  #misses = 0;
  #evictions = 0;

  constructor(options: MemoryStoreOptions = {}) {
    this.#capacity = options.capacityBytes ?? DEFAULT_MEMORY_CAPACITY_BYTES;
    this.#maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.#onRelease = options.onRelease ?? (() => undefined);
    this.#buffers = options.buffers ?? UNPOOLED;
    checkBounds("memory store", this.#capacity, this.#maxEntries);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const entry = this.#lru.touch(key);
    if (entry) this.#hits++;
    else this.#misses++;
    return entry?.bytes;
  }

  async put(key: string, bytes: Uint8Array, options: PutOptions = {}): Promise<boolean> {
    const previous = this.#lru.peek(key);
    this.#remove(key);
    const size = bytes.byteLength;
    if (size > this.#capacity) return false;
    const held = this.#buffers.share(bytes);
    if (held === undefined) return false;
    while (this.#lru.bytes + size > this.#capacity || this.#lru.entries + 1 > this.#maxEntries) {
      const victim = this.#lru.victim();
      if (!victim) break;
      this.#remove(victim.key);
      this.#evictions++;
    }
    this.#lru.set(key, { size, bytes: held }, options.owned ?? previous?.owned ?? false);
    return true;
  }

  async delete(key: string): Promise<boolean> {
    return this.#remove(key);
  }

  has(key: string): boolean {
    return this.#lru.has(key);
  }

  stats(): StoreStats {
    return {
      bytes: this.#lru.bytes,
      entries: this.#lru.entries,
      hits: this.#hits,
      misses: this.#misses,
      evictions: this.#evictions,
      capacityBytes: this.#capacity,
      maxEntries: this.#maxEntries,
    };
  }

  async close(): Promise<void> {
    for (const key of this.#lru.keys()) this.#lru.delete(key);
  }

  #remove(key: string): boolean {
    const removed = this.#lru.delete(key);
    if (!removed) return false;
    this.#buffers.release(removed.bytes);
    this.#onRelease(removed.size);
    return true;
  }
}
