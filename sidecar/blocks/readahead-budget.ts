/**
 * Bytes of blocks that streams fetch ahead of what they release, across every stream of an engine.
 * Each stream may always have its next two blocks (so that it progresses and overlaps one fetch with
 * one send); blocks further ahead borrow from here and are given back when the stream releases them or
 * ends. Without it, N streams could hold N readahead windows (8 MiB each by default) of blocks the cache
 * may already have evicted: memory that grows with the number of clients.
 */
export class ReadaheadBudget {
  readonly capacityBytes: number;
  #inUse = 0;

  constructor(capacityBytes: number) {
    if (!Number.isSafeInteger(capacityBytes) || capacityBytes < 0) {
      throw new RangeError(`readahead budget must be a non-negative integer, got ${capacityBytes}`);
    }
    this.capacityBytes = capacityBytes;
  }

  get inUseBytes(): number {
    return this.#inUse;
  }

  /** Borrows `bytes` if they fit; false (and nothing borrowed) otherwise. */
  tryTake(bytes: number): boolean {
    if (this.#inUse + bytes > this.capacityBytes) return false;
    this.#inUse += bytes;
    return true;
  }

  give(bytes: number): void {
    this.#inUse = Math.max(0, this.#inUse - bytes);
  }
}
