/**
 * A BlockSource over blobs held in memory: the in-memory implementation beside the interface, for
 * tests, benchmarks and fixed content. It counts fetches (per block too) and how many run at once, and
 * can add a delay per fetch (honoring the abort signal) so that fetches overlap as they do on a network.
 */
import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { BlobDescriptor, BlockRequest, BlockSource, FetchContext } from "./block-source.ts";
import { blockKey } from "./block-plan.ts";
import { AbortedError, BlockFetchError } from "./errors.ts";

export interface MemorySourceOptions {
  readonly kind?: string;
  readonly id?: string;
  /** Milliseconds each fetch takes. */
  readonly delayMs?: number;
}

export class MemoryBlockSource implements BlockSource {
  readonly kind: string;
  readonly id: string;
  readonly #blobs = new Map<string, Uint8Array>();
  readonly #delayMs: number;
  readonly fetchesByBlock = new Map<string, number>();
  fetches = 0;
  inflight = 0;
  peakInflight = 0;

  constructor(options: MemorySourceOptions = {}) {
    this.kind = options.kind ?? "memory";
    this.id = options.id ?? this.kind;
    this.#delayMs = options.delayMs ?? 0;
  }

  /** Adds a blob under its own sha256 digest. */
  add(bytes: Uint8Array): BlobDescriptor {
    const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    this.#blobs.set(digest, bytes);
    return { digest, size: bytes.byteLength };
  }

  /** Adds bytes under any digest (e.g. a wrong one). */
  set(digest: string, bytes: Uint8Array): void {
    this.#blobs.set(digest, bytes);
  }

  /** Whether this source holds the blob at that size (what a registry's HEAD answers). */
  has(blob: BlobDescriptor): boolean {
    return this.#blobs.get(blob.digest)?.byteLength === blob.size;
  }

  async fetchBlock(request: BlockRequest, signal: AbortSignal, context?: FetchContext): Promise<Uint8Array> {
    const key = blockKey(request.digest, request.index);
    this.fetches++;
    this.fetchesByBlock.set(key, (this.fetchesByBlock.get(key) ?? 0) + 1);
    this.inflight++;
    this.peakInflight = Math.max(this.peakInflight, this.inflight);
    try {
      if (this.#delayMs > 0)
        await sleep(this.#delayMs, undefined, { signal }).catch(() => {
          throw new AbortedError("fetch aborted");
        });
      const blob = this.#blobs.get(request.digest);
      if (!blob || blob.byteLength !== request.blobSize) {
        throw new BlockFetchError("NOT_FOUND", `${this.id} has no blob ${request.digest}`);
      }
      context?.progress(request.length);
      return blob.subarray(request.offset, request.offset + request.length);
    } finally {
      this.inflight--;
    }
  }
}
