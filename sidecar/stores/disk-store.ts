/**
 * The disk block store (p2p.v2.cache.mode=disk): one file per block in a directory the store owns (an
 * emptyDir), named by the sha256 of the block key. Writes go to a temporary file that is renamed into
 * place, so a reader sees a whole block or none. The directory is emptied at start: the index lives in
 * memory only, and leftovers of an earlier run (or any garbage) are not worth trusting.
 *
 * The byte cap counts every byte the store may have on disk at an instant: committed blocks, writes in
 * progress (reserved before the first byte is written) and evicted files not yet unlinked. Operations
 * on one key (put, delete, the unlink of an eviction) run one after another, so an eviction's unlink
 * can never remove a newer copy of the same block.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { BlockStore, PutOptions, StoreStats } from "./block-store.ts";
import { OwnedLru } from "./owned-lru.ts";
import { checkBounds, DEFAULT_DISK_CAPACITY_BYTES, DEFAULT_DISK_MAX_ENTRIES } from "./store-defaults.ts";
import { KeySerializer } from "./key-serializer.ts";

export interface DiskStoreOptions {
  /** A directory the store owns: everything in it is deleted at start. */
  readonly dir: string;
  /** Hard cap on bytes on disk (the seed's `capacity`); default: that option's default. */
  readonly capacityBytes?: number;
  readonly maxEntries?: number;
  /**
   * A block buffer the store handed out or was given and does not keep (blocks live on disk here, so
   * every one read or written is let go at once): its bytes can be collected.
   */
  readonly onRelease?: (bytes: number) => void;
}

interface Entry {
  readonly size: number;
}

export class DiskBlockStore implements BlockStore {
  readonly #dir: string;
  readonly #capacity: number;
  readonly #maxEntries: number;
  readonly #lru = new OwnedLru<Entry>();
  readonly #serial = new KeySerializer();
  readonly #onRelease: (bytes: number) => void;
  /** Bytes and entries on disk outside the index: writes in progress, and files being unlinked. */
  #writing = { bytes: 0, entries: 0 };
  #unlinking = { bytes: 0, entries: 0 };
  readonly #unlinks = new Set<Promise<void>>();
  readonly #writes = new Set<Promise<unknown>>();
  #hits = 0;
  #misses = 0;
  #evictions = 0;

  private constructor(options: DiskStoreOptions) {
    this.#dir = options.dir;
    this.#capacity = options.capacityBytes ?? DEFAULT_DISK_CAPACITY_BYTES;
    this.#maxEntries = options.maxEntries ?? DEFAULT_DISK_MAX_ENTRIES;
    this.#onRelease = options.onRelease ?? (() => undefined);
    checkBounds("disk store", this.#capacity, this.#maxEntries);
  }

  /** Creates the directory if needed and removes everything in it. */
  static async open(options: DiskStoreOptions): Promise<DiskBlockStore> {
    const store = new DiskBlockStore(options);
    await mkdir(options.dir, { recursive: true });
    await emptyDir(options.dir);
    return store;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const entry = this.#lru.touch(key);
    const bytes = entry && (await readFile(this.#path(key)).catch(() => undefined));
    if (bytes) this.#onRelease(bytes.byteLength);
    if (entry && bytes && bytes.byteLength === entry.size) {
      this.#hits++;
      return bytes;
    }
    this.#misses++;
    // Indexed but unreadable or of the wrong size (someone touched our directory): forget it.
    if (entry && this.#lru.peek(key)?.value === entry) void this.delete(key);
    return undefined;
  }

  put(key: string, bytes: Uint8Array, options: PutOptions = {}): Promise<boolean> {
    return this.#serial
      .run(key, () => this.#put(key, bytes, options))
      .finally(() => this.#onRelease(bytes.byteLength));
  }

  delete(key: string): Promise<boolean> {
    return this.#serial.run(key, async () => {
      const entry = this.#lru.delete(key);
      if (entry) await unlink(this.#path(key)).catch(() => undefined);
      return entry !== undefined;
    });
  }

  has(key: string): boolean {
    return this.#lru.has(key);
  }

  stats(): StoreStats {
    return {
      bytes: this.#lru.bytes + this.#writing.bytes + this.#unlinking.bytes,
      entries: this.#lru.entries,
      hits: this.#hits,
      misses: this.#misses,
      evictions: this.#evictions,
      capacityBytes: this.#capacity,
      maxEntries: this.#maxEntries,
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.#unlinks]);
    for (const key of this.#lru.keys()) this.#lru.delete(key);
    await emptyDir(this.#dir);
  }

  async #put(key: string, bytes: Uint8Array, options: PutOptions): Promise<boolean> {
    const previous = this.#lru.peek(key);
    const owned = options.owned ?? previous?.owned ?? false;
    if (previous) {
      // The old file stays counted until it is gone, so the cap also holds while we replace it.
      this.#lru.delete(key);
      add(this.#unlinking, previous.value.size, 1);
      await unlink(this.#path(key)).catch(() => undefined);
      add(this.#unlinking, -previous.value.size, -1);
    }
    const size = bytes.byteLength;
    if (!(await this.#reserve(size, owned))) return false;
    const write = this.#write(key, bytes);
    this.#writes.add(write);
    const written = await write;
    this.#writes.delete(write);
    add(this.#writing, -size, -1);
    if (written) this.#lru.set(key, { size }, owned);
    return written;
  }

  /** Writes a block's file whole: to a temporary name, then renamed into place. */
  async #write(key: string, bytes: Uint8Array): Promise<boolean> {
    const temp = join(this.#dir, `.tmp-${randomBytes(8).toString("hex")}`);
    try {
      await writeFile(temp, bytes);
      await rename(temp, this.#path(key));
      return true;
    } catch {
      await unlink(temp).catch(() => undefined);
      return false;
    }
  }

  /**
   * Makes room for `size` bytes and reserves them; false when it cannot (too big, or the room is taken by
   * other writes in progress). Evicts only what is needed once pending unlinks are done, then waits for
   * those unlinks rather than evicting more. An unowned block does not push out an owned one while other
   * writes are in progress: it waits for them, since they become unowned victims once committed.
   */
  async #reserve(size: number, owned: boolean): Promise<boolean> {
    if (size > this.#capacity) return false;
    for (;;) {
      while (!this.#fits(size, false)) {
        const victim = this.#lru.victim();
        if (!victim || (victim.owned && !owned && this.#writes.size > 0)) break;
        this.#evict(victim.key, victim.value.size);
      }
      if (this.#fits(size, true)) {
        add(this.#writing, size, 1);
        return true;
      }
      const pending = [...this.#unlinks, ...this.#writes];
      if (pending.length === 0) return false;
      await Promise.race(pending);
    }
  }

  /** Whether `size` more bytes fit, counting files being unlinked as still there or as gone. */
  #fits(size: number, countUnlinking: boolean): boolean {
    const u = countUnlinking ? this.#unlinking : { bytes: 0, entries: 0 };
    const bytes = this.#lru.bytes + this.#writing.bytes + u.bytes + size;
    const entries = this.#lru.entries + this.#writing.entries + u.entries + 1;
    return bytes <= this.#capacity && entries <= this.#maxEntries;
  }

  #evict(key: string, size: number): void {
    this.#lru.delete(key);
    this.#evictions++;
    add(this.#unlinking, size, 1);
    const done = this.#serial
      // A put of the same key queued before this unlink has already renamed a new file into place.
      .run(key, async () => {
        if (!this.#lru.has(key)) await unlink(this.#path(key)).catch(() => undefined);
      })
      .finally(() => {
        add(this.#unlinking, -size, -1);
        this.#unlinks.delete(done);
      });
    this.#unlinks.add(done);
  }

  #path(key: string): string {
    return join(this.#dir, createHash("sha256").update(key).digest("hex"));
  }
}

function add(counter: { bytes: number; entries: number }, bytes: number, entries: number): void {
  counter.bytes += bytes;
  counter.entries += entries;
}

async function emptyDir(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(names.map((name) => rm(join(dir, name), { recursive: true, force: true })));
}
