/**
 * Gives the memory of dropped blocks back soon after they are dropped, not 64 MiB later.
 *
 * A block's bytes live outside V8's heap (an ArrayBuffer backing store) behind a tiny wrapper that has
 * long been promoted to the old generation by the time the block is evicted. Only a full collection
 * frees it, and V8 starts one when external memory has grown by 64 MiB since the last: under churn
 * (a cache smaller than what passes through it, or the disk store, whose blocks all pass through
 * memory) that garbage alone would fill the sidecar's whole working margin. In memory mode dropped
 * blocks go back to the block pool (sidecar/blocks/block-pool.ts), which reports only the buffers it
 * has no room to keep; in disk mode the stores and the origin reader report each block they let go.
 * After `everyBytes` of them this asks for one full collection, as soon as the current burst of work
 * is done.
 *
 * The collection comes from `gc`, which the sidecar's Node flags expose (node-flags.ts). Without it
 * (the sidecar run in-process by tests) nothing is collected early and V8's own schedule applies.
 */
export interface ReclaimerOptions {
  /** Bytes let go between two collections (a named part of the memory budget, lib/sidecar-memory.ts). */
  readonly everyBytes: number;
  /** Runs a full collection; default the exposed `gc`, if any. */
  readonly collect?: (() => void) | undefined;
  /** Called after each collection this triggered (a metric). */
  readonly onCollect?: () => void;
}

export class BlockReclaimer {
  readonly #everyBytes: number;
  readonly #collect: (() => void) | undefined;
  readonly #onCollect: (() => void) | undefined;
  #released = 0;
  #scheduled = false;

  constructor(options: ReclaimerOptions) {
    if (!Number.isSafeInteger(options.everyBytes) || options.everyBytes < 1) {
      throw new RangeError(`everyBytes must be a positive integer, got ${options.everyBytes}`);
    }
    this.#everyBytes = options.everyBytes;
    this.#collect = "collect" in options ? options.collect : exposedGc();
    this.#onCollect = options.onCollect;
  }

  /** Whether collections can be asked for at all (false without an exposed `gc`). */
  get active(): boolean {
    return this.#collect !== undefined;
  }

  /** A block of `bytes` is no longer kept by whoever reports it. */
  readonly released = (bytes: number): void => {
    if (!this.#collect) return;
    this.#released += bytes;
    if (this.#released < this.#everyBytes || this.#scheduled) return;
    this.#scheduled = true;
    // Once, after the current job (a put evicting several blocks, a segment delivering several), but
    // not at the end of the event loop's turn: under a crowd of streams one turn lasted a second, and
    // 30 MiB of dropped blocks waited for it (600 GETs: 45-55 MiB over idle + cap instead of 26-44).
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#released = 0;
      this.#collect!();
      this.#onCollect?.();
    });
  };
}

function exposedGc(): (() => void) | undefined {
  const gc = (globalThis as { gc?: () => void }).gc;
  return typeof gc === "function" ? () => gc() : undefined;
}
