/**
 * A Readable of blocks [first, last] in order, with a bounded readahead: while block i is being
 * released, blocks up to i + readahead are being fetched. Each _read releases exactly one block, so
 * backpressure is Node's own: a slow consumer stops the releases, and the readahead window, not the
 * blob, bounds what this stream holds. A BlockCheck sees every block before its bytes are pushed (the
 * whole-blob check holds the last block back until the digest matches).
 *
 * Destroying the stream (client disconnect, pipeline error, `signal`) aborts its fetches: flights that
 * other streams still wait for carry on, the others stop.
 *
 * Each block's lease (block-pool.ts) goes with its bytes: pushed whole, the consumer releases it once
 * written (blob-handler.ts); blocks this stream will not push any more are released here.
 */
import { Readable } from "node:stream";
import type { BlockResult } from "./block-fetcher.ts";
import type { BlockBuffers } from "../buffers/block-pool.ts";
import { AbortedError } from "./errors.ts";
import type { ReadaheadBudget } from "./readahead-budget.ts";

export interface BlockCheck {
  /** Called in block order; resolves with the bytes that may be released, or throws to fail the stream. */
  accept(
    index: number,
    result: BlockResult,
    last: boolean,
    signal: AbortSignal,
  ): Uint8Array | Promise<Uint8Array>;
  /** Called once after the last block (or at once for a range of no blocks); throws to fail the stream. */
  end?(): void;
}

export interface BlockReadableOptions {
  /** First and last block index, inclusive; last < first is an empty stream. */
  readonly first: number;
  readonly last: number;
  /** Blocks fetched ahead of the one being released (at least 1). */
  readonly readahead: number;
  readonly highWaterMark: number;
  readonly fetch: (index: number, signal: AbortSignal) => Promise<BlockResult>;
  readonly check: BlockCheck;
  /** The part [start, end) of a block to push (first and last block of a Range read), if not all. */
  readonly slice?: (index: number, length: number) => readonly [number, number] | undefined;
  readonly signal?: AbortSignal;
  /** Releases the lease of a block not pushed (the stream was destroyed first, or it was cut). */
  readonly buffers: BlockBuffers;
  /**
   * Engine-wide bytes for blocks beyond a stream's next two, with the bytes each block counts for;
   * without it, every stream reads its whole window ahead.
   */
  readonly budget?: { readonly shared: ReadaheadBudget; readonly blockBytes: number };
}

export class BlockReadable extends Readable {
  readonly #options: BlockReadableOptions;
  readonly #abort = new AbortController();
  readonly #window = new Map<number, Promise<BlockResult>>();
  /** Blocks of the window that borrowed from the engine-wide budget. */
  readonly #borrowed = new Set<number>();
  #next: number;
  #fetched: number;
  #stepping = false;
  #demand = false;

  constructor(options: BlockReadableOptions) {
    super({ highWaterMark: options.highWaterMark, ...(options.signal ? { signal: options.signal } : {}) });
    this.#options = options;
    this.#next = options.first;
    this.#fetched = options.first;
  }

  override _read(): void {
    // Node may ask again (after our push) before the step that pushed has returned: remember it.
    this.#demand = true;
    if (!this.#stepping) this.#run();
  }

  #run(): void {
    this.#stepping = true;
    this.#demand = false;
    this.#step().then(
      () => {
        this.#stepping = false;
        if (this.#demand && !this.destroyed) this.#run();
      },
      (err: unknown) => {
        this.#stepping = false;
        this.destroy(err as Error);
      },
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#abort.abort(new AbortedError("stream closed"));
    const { buffers } = this.#options;
    for (const pending of this.#window.values())
      pending.then(
        (r) => buffers.release(r.bytes),
        () => undefined,
      );
    this.#window.clear();
    for (const index of this.#borrowed) this.#giveBack(index);
    callback(error);
  }

  /** Releases the next block (or ends the stream). */
  async #step(): Promise<void> {
    const { last, check } = this.#options;
    if (this.#next > last) {
      check.end?.();
      this.push(null);
      return;
    }
    this.#fill();
    const index = this.#next;
    const result = await this.#window.get(index)!;
    this.#window.delete(index);
    this.#giveBack(index);
    const { buffers, slice } = this.#options;
    if (this.destroyed) return buffers.release(result.bytes);
    const bytes = await check.accept(index, result, index === last, this.#abort.signal);
    if (bytes !== result.bytes) buffers.release(result.bytes);
    if (this.destroyed) return buffers.release(bytes);
    this.#next++;
    this.#fill();
    const part = slice?.(index, bytes.byteLength);
    this.push(part ? buffers.narrow(bytes, part[0], part[1]) : bytes);
    if (index === last) {
      check.end?.();
      this.push(null);
    }
  }

  /**
   * Starts fetches up to the window past the one being released. The window opens as the consumer
   * takes blocks (two, then one more per block released, up to `readahead`): a client that stops
   * reading after its first bytes has made the sources send little beyond what it took. Blocks past
   * the next two borrow from the engine-wide budget; when it is spent the window stays where it is
   * until this stream (or another) releases blocks.
   */
  #fill(): void {
    const { first, last, readahead, fetch, budget } = this.#options;
    const window = Math.min(readahead, 2 + (this.#next - first));
    const limit = Math.min(last, this.#next + window - 1);
    for (; this.#fetched <= limit; this.#fetched++) {
      if (budget && this.#fetched > this.#next + 1) {
        if (!budget.shared.tryTake(budget.blockBytes)) break;
        this.#borrowed.add(this.#fetched);
      }
      const pending = fetch(this.#fetched, this.#abort.signal);
      // Awaited in order by #step; a stream destroyed meanwhile never awaits it.
      pending.catch(() => undefined);
      this.#window.set(this.#fetched, pending);
    }
  }

  #giveBack(index: number): void {
    if (!this.#borrowed.delete(index)) return;
    this.#options.budget!.shared.give(this.#options.budget!.blockBytes);
  }
}
