/**
 * Block buffers that are used again instead of allocated per block.
 *
 * Without it every fetched block was a fresh 256 KiB mapping: the kernel zeroed its pages on first
 * write, and once the block was dropped only a full collection gave the memory back, which the block
 * reclaimer asked for every 8 MiB dropped. In a 256 MiB pull those page faults and collections were a
 * fifth of the sidecar's CPU (docs/p2p.md).
 *
 * A pooled buffer is handed out as leases: Uint8Array views, each counted once. Whoever holds a lease
 * may read the bytes until it releases that lease; the buffer goes back to the pool when the last lease
 * is released, and only then. So the rules are:
 * - `allocate` gives the caller the first lease;
 * - `share(lease)` gives a new lease on the same bytes, for another holder (the store, a second stream),
 *   or undefined when the bytes went back to the pool meanwhile (the caller then refetches);
 * - `release(lease)` once the holder will not read the bytes again (a socket write completed, the store
 *   evicted the block). A lease never released is safe: its buffer is left to the garbage collector.
 * - `narrow(lease, start, end)`: the same lease, moved to a part of the bytes (a Range's first block).
 * A view derived from a lease otherwise (subarray) is not a lease: releasing it does nothing (its buffer
 * is left to the collector), sharing it throws.
 * Views of buffers that were not allocated here are shared as they are and never counted.
 */

/** What the data path asks of block buffers: a BlockPool, or UNPOOLED (disk mode, tests). */
export interface BlockBuffers {
  allocate(length: number): Buffer;
  share(lease: Uint8Array): Uint8Array | undefined;
  release(lease: Uint8Array): void;
  narrow(lease: Uint8Array, start: number, end: number): Uint8Array;
}

/** Every buffer its own allocation, left to the garbage collector; sharing is the same view. */
export const UNPOOLED: BlockBuffers = Object.freeze({
  allocate: (length: number) => Buffer.allocUnsafeSlow(length),
  share: (lease: Uint8Array) => lease,
  release: () => undefined,
  narrow: (lease: Uint8Array, start: number, end: number) => lease.subarray(start, end),
});

export interface BlockPoolOptions {
  /** Size of every pooled buffer (the block size); other sizes get a buffer of their own. */
  readonly blockBytes: number;
  /** Free buffers kept for reuse; more are dropped (left to the garbage collector). */
  readonly maxFree: number;
  /** A buffer dropped instead of kept (the free list was full): its bytes can be collected. */
  readonly onDrop?: (bytes: number) => void;
}

export interface BlockPoolStats {
  /** Buffers allocated new, and buffers handed out again from the free list. */
  readonly allocated: number;
  readonly reused: number;
  /** Buffers in the free list now. */
  readonly free: number;
}

interface Slot {
  readonly buffer: ArrayBuffer;
  leases: number;
}

interface Lease {
  readonly slot: Slot;
  released: boolean;
}

export class BlockPool implements BlockBuffers {
  readonly #blockBytes: number;
  readonly #maxFree: number;
  readonly #onDrop: (bytes: number) => void;
  readonly #free: ArrayBuffer[] = [];
  readonly #leases = new WeakMap<Uint8Array, Lease>();
  readonly #pooled = new WeakSet<ArrayBuffer>();
  #allocated = 0;
  #reused = 0;

  constructor(options: BlockPoolOptions) {
    if (!Number.isSafeInteger(options.blockBytes) || options.blockBytes < 1) {
      throw new RangeError(`blockBytes must be a positive integer, got ${options.blockBytes}`);
    }
    if (!Number.isSafeInteger(options.maxFree) || options.maxFree < 0) {
      throw new RangeError(`maxFree must be a non-negative integer, got ${options.maxFree}`);
    }
    this.#blockBytes = options.blockBytes;
    this.#maxFree = options.maxFree;
    this.#onDrop = options.onDrop ?? (() => undefined);
  }

  /**
   * A lease on `length` bytes of unspecified content (to be overwritten). Only whole blocks are pooled:
   * a blob's short last block in a whole buffer would hold more memory than the store counts for it.
   */
  allocate(length: number): Buffer {
    if (length !== this.#blockBytes) return Buffer.allocUnsafeSlow(length);
    let buffer = this.#free.pop();
    if (buffer) this.#reused++;
    else {
      buffer = new ArrayBuffer(this.#blockBytes);
      this.#pooled.add(buffer);
      this.#allocated++;
    }
    return this.#lease({ buffer, leases: 0 }, 0, length);
  }

  /** Another lease on the bytes `lease` holds, or undefined when they went back to the pool. */
  share(lease: Uint8Array): Uint8Array | undefined {
    const held = this.#leases.get(lease);
    if (!held) {
      if (this.#pooled.has(lease.buffer as ArrayBuffer)) {
        throw new Error("share() needs a lease, not a view derived from one");
      }
      return lease;
    }
    if (held.slot.leases === 0) return undefined;
    return this.#lease(held.slot, lease.byteOffset, lease.byteLength);
  }

  /** The holder of `lease` is done with its bytes (a second call, or a non-lease, does nothing). */
  release(lease: Uint8Array): void {
    const held = this.#leases.get(lease);
    if (!held || held.released) return;
    held.released = true;
    if (--held.slot.leases > 0) return;
    if (this.#free.length < this.#maxFree) this.#free.push(held.slot.buffer);
    else this.#onDrop(held.slot.buffer.byteLength);
  }

  /** The lease of `lease`, moved to its bytes [start, end) (as subarray); `lease` is spent. */
  narrow(lease: Uint8Array, start: number, end: number): Uint8Array {
    const held = this.#leases.get(lease);
    const part = lease.subarray(start, end);
    if (!held || held.released) return part;
    held.released = true;
    this.#leases.set(part, { slot: held.slot, released: false });
    return part;
  }

  stats(): BlockPoolStats {
    return { allocated: this.#allocated, reused: this.#reused, free: this.#free.length };
  }

  #lease(slot: Slot, offset: number, length: number): Buffer {
    const view = Buffer.from(slot.buffer, offset, length);
    slot.leases++;
    this.#leases.set(view, { slot, released: false });
    return view;
  }
}
