/**
 * Shared pieces of the block engine tests: an engine over a real memory store with small blocks, a
 * consumer that keeps what it received and the error, and in-memory sources with faults (a liar, a
 * source that stalls, one that fails). No mock library: each fault is a small BlockSource.
 */
import { randomBytes } from "node:crypto";
import type { Readable } from "node:stream";
import { BlockEngine } from "../../../../sidecar/blocks/block-engine.ts";
import type { BlockEngineOptions } from "../../../../sidecar/blocks/block-engine.ts";
import type { BlockRequest, BlockSource, FetchContext } from "../../../../sidecar/blocks/block-source.ts";
import { CountingMetrics } from "../../../../sidecar/blocks/block-metrics.ts";
import { AbortedError, BlockFetchError } from "../../../../sidecar/blocks/errors.ts";
import type { FetchFailureCode } from "../../../../sidecar/blocks/errors.ts";
import { MemoryBlockSource } from "../../../../sidecar/blocks/memory-source.ts";
import { MemoryBlockStore } from "../../../../sidecar/stores/memory-store.ts";
import type { BlockStore } from "../../../../sidecar/stores/block-store.ts";

export const BLOCK = 4096;

export interface Rig {
  readonly engine: BlockEngine;
  readonly store: BlockStore;
  readonly metrics: CountingMetrics;
}

export function rig(options: Partial<BlockEngineOptions> = {}): Rig {
  const store = options.store ?? new MemoryBlockStore({ capacityBytes: 64 * 1024 * 1024 });
  const metrics = new CountingMetrics();
  const engine = new BlockEngine({
    store,
    blockSizeBytes: BLOCK,
    proxyFsParallels: 8,
    transferTimeoutMs: 2000,
    connectTimeoutMs: 500,
    metrics,
    ...options,
  });
  return { engine, store, metrics };
}

export function origin(delayMs = 0, kind = "origin"): MemoryBlockSource {
  return new MemoryBlockSource({ kind, delayMs });
}

export function blob(size: number): Buffer {
  return randomBytes(size);
}

export interface Drained {
  readonly bytes: Buffer;
  readonly error: (Error & { code?: string }) | undefined;
}

/** Reads a stream to its end or error, keeping everything received. */
export async function drain(stream: Readable): Promise<Drained> {
  const chunks: Buffer[] = [];
  let error: (Error & { code?: string }) | undefined;
  try {
    for await (const chunk of stream) chunks.push(chunk as Buffer);
  } catch (err) {
    error = err as Error & { code?: string };
  }
  return { bytes: Buffer.concat(chunks), error };
}

/** Serves a blob like MemoryBlockSource, but with the given blocks' bytes flipped. */
export class LyingSource implements BlockSource {
  readonly kind = "peer";
  readonly id: string;
  readonly #bytes: Uint8Array;
  readonly #lies: ReadonlySet<number>;
  fetches = 0;

  constructor(id: string, bytes: Uint8Array, lies: Iterable<number>) {
    this.id = id;
    this.#bytes = bytes;
    this.#lies = new Set(lies);
  }

  async fetchBlock(request: BlockRequest): Promise<Uint8Array> {
    this.fetches++;
    const block = Buffer.from(this.#bytes.subarray(request.offset, request.offset + request.length));
    if (this.#lies.has(request.index)) block[0] = block[0]! ^ 0xff;
    return block;
  }
}

/** Accepts every request and never answers; with `ignoreAbort` it does not even honor the signal. */
export class StalledSource implements BlockSource {
  readonly kind = "peer";
  readonly id = "stalled peer";
  readonly #ignoreAbort: boolean;
  calls = 0;
  aborts = 0;

  constructor(ignoreAbort = false) {
    this.#ignoreAbort = ignoreAbort;
  }

  fetchBlock(_request: BlockRequest, signal: AbortSignal): Promise<Uint8Array> {
    this.calls++;
    return new Promise((_, reject) => {
      signal.addEventListener("abort", () => {
        this.aborts++;
        if (!this.#ignoreAbort) reject(new AbortedError("stalled fetch aborted"));
      });
    });
  }
}

/** Fails every request with the given code (or with a plain Error, as a buggy source would). */
export class FailingSource implements BlockSource {
  readonly kind = "peer";
  readonly id: string;
  readonly #code: FetchFailureCode | "plain";
  calls = 0;

  constructor(code: FetchFailureCode | "plain" = "SOURCE_FAILED", id = "failing peer") {
    this.#code = code;
    this.id = id;
  }

  async fetchBlock(): Promise<Uint8Array> {
    this.calls++;
    if (this.#code === "plain") throw new Error("boom");
    throw new BlockFetchError(this.#code, `${this.id} fails`);
  }
}

/** Sends bytes slowly but steadily, reporting progress, for the whole block over `totalMs`. */
export class SlowSource implements BlockSource {
  readonly kind = "origin";
  readonly #inner: MemoryBlockSource;
  readonly #totalMs: number;
  readonly #steps: number;

  constructor(inner: MemoryBlockSource, totalMs: number, steps: number) {
    this.#inner = inner;
    this.#totalMs = totalMs;
    this.#steps = steps;
  }

  async fetchBlock(request: BlockRequest, signal: AbortSignal, context?: FetchContext): Promise<Uint8Array> {
    for (let i = 0; i < this.#steps; i++) {
      await new Promise((r) => setTimeout(r, this.#totalMs / this.#steps));
      if (signal.aborted) throw new AbortedError();
      context?.progress(Math.ceil(request.length / this.#steps));
    }
    return this.#inner.fetchBlock(request, signal);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
