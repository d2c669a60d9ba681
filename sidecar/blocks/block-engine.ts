/**
 * The block engine: serves blobs as streams of blocks fetched from ordered sources (peers, then the
 * origin), through a bounded block store, with end-to-end sha256 verification. See index.ts for the
 * public API and the memory bound.
 */
import type { Readable } from "node:stream";
import type { BlockStore, StoreStats } from "../stores/block-store.ts";
import type { BlobDescriptor, BlockRequest, BlockSource, SourceList } from "./block-source.ts";
import { blockCount, blockKey, blockRequest, checkBlob } from "./block-plan.ts";
import { BlockFetcher } from "./block-fetcher.ts";
import { UNPOOLED } from "../buffers/block-pool.ts";
import type { BlockBuffers } from "../buffers/block-pool.ts";
import type { BadBlockEvent, BlockResult } from "./block-fetcher.ts";
import { NOOP_METRICS } from "./block-metrics.ts";
import type { BlockMetrics, ByteSource } from "./block-metrics.ts";
import { BlockReadable } from "./block-readable.ts";
import type { BlockCheck } from "./block-readable.ts";
import { BlobTrust } from "./blob-trust.ts";
import type { VerifiedBlob } from "./blob-trust.ts";
import { isAbort } from "../../lib/coded-error.ts";
import { AbortedError, BlobNotVerifiedError, BlockError, errorCode, RangeInvalidError } from "./errors.ts";
import type { MismatchReport } from "./errors.ts";
import type { LRUCache } from "lru-cache";
import { boundedCache } from "../../lib/bounded-cache.ts";
import { ReadaheadBudget } from "./readahead-budget.ts";
import { compareWithAuthoritative } from "./mismatch-recovery.ts";
import { Semaphore } from "./semaphore.ts";
import { VerifiedBlockCheck } from "./verified-block-check.ts";
import { WholeBlobCheck } from "./whole-blob-check.ts";
import type { Suppliers } from "./whole-blob-check.ts";

export interface BlockEngineOptions {
  readonly store: BlockStore;
  /** Block size in bytes (the seed's `blocksize` is in KiB: multiply by 1024). */
  readonly blockSizeBytes: number;
  /** Most block fetches in flight across all streams (the seed's proxyFsParallels). */
  readonly proxyFsParallels: number;
  /** A fetch with no progress for this long is aborted and counts as a source failure. */
  readonly transferTimeoutMs: number;
  /** Passed to sources (FetchContext.connectTimeoutMs). */
  readonly connectTimeoutMs: number;
  /** Blocks each stream fetches ahead; default 8 MiB worth, within [2, 64]. */
  readonly readaheadBlocks?: number;
  /**
   * Bytes all streams together may read ahead beyond each one's next two blocks (readahead-budget.ts);
   * default unbounded (each stream its whole window).
   */
  readonly readaheadBudgetBytes?: number;
  /** Memory for verified-blob records (16 bytes per block); default 8 MiB. */
  readonly verifiedRecordBytes?: number;
  readonly metrics?: BlockMetrics;
  /**
   * The pool the sources and the store take block buffers from (block-pool.ts); default none. Streams
   * and blocks handed out then carry leases: see releaseBlock.
   */
  readonly buffers?: BlockBuffers;
  /** Whether this peer owns a block (rendezvous hashing): owned blocks are evicted last. */
  readonly isOwned?: (request: BlockRequest) => boolean;
  /** A block turned out wrong, and who supplied it: the P2P layer quarantines that peer. */
  readonly onBadBlock?: (event: BadBlockEvent) => void;
}

export interface StreamOptions {
  /**
   * The source trusted to settle a digest mismatch (the origin). On a mismatch the blob is refetched
   * from it and compared block by block; while the blob is suspect only it is asked for blocks.
   */
  readonly authoritative?: BlockSource;
  /** Aborts the stream (it is also aborted when destroyed, e.g. by the client going away). */
  readonly signal?: AbortSignal;
  /** Whether a read of a blob under recovery waits for the recovery (default true). */
  readonly waitForRecovery?: boolean;
  /**
   * Each block the stream takes, with where its bytes came from: `origin` or `peer` (fetched for it),
   * `cache`, or `shared` (a fetch another stream started). For a per-pull account in the log.
   */
  readonly onBlock?: (from: ByteSource, bytes: number) => void;
}

export interface EngineStats {
  /** Block fetches to sources in flight (one per block key). */
  readonly flights: number;
  /** Fetches holding a proxyFsParallels slot, and fetches waiting for one. */
  readonly slotsInUse: number;
  readonly slotsWaiting: number;
  readonly verifiedBlobs: number;
  readonly suspectBlobs: number;
  /** Bytes of blocks streams hold beyond their next two (undefined: no engine-wide budget). */
  readonly readaheadBytes: number | undefined;
  readonly store: StoreStats;
}

const DEFAULT_READAHEAD_BYTES = 8 * 1024 * 1024;
const PROVENANCE_ENTRIES = 65536;

/** Blocks a stream fetches ahead by default: 8 MiB of them, between 2 and 64. */
export function defaultReadaheadBlocks(blockSizeBytes: number): number {
  return Math.min(64, Math.max(2, Math.floor(DEFAULT_READAHEAD_BYTES / blockSizeBytes)));
}

export class BlockEngine {
  readonly blockSizeBytes: number;
  readonly readaheadBlocks: number;
  readonly #store: BlockStore;
  readonly #semaphore: Semaphore;
  readonly #readaheadBudget: ReadaheadBudget | undefined;
  readonly #trust: BlobTrust;
  readonly #provenance: LRUCache<string, BlockSource>;
  readonly #fetcher: BlockFetcher;
  readonly #metrics: BlockMetrics;
  readonly #buffers: BlockBuffers;
  readonly #onBadBlock: ((event: BadBlockEvent) => void) | undefined;
  readonly #recoveries = new Map<string, Promise<MismatchReport>>();

  constructor(options: BlockEngineOptions) {
    const { blockSizeBytes } = options;
    if (!Number.isSafeInteger(blockSizeBytes) || blockSizeBytes < 1) {
      throw new RangeError(`blockSizeBytes must be a positive integer, got ${blockSizeBytes}`);
    }
    this.blockSizeBytes = blockSizeBytes;
    this.readaheadBlocks = options.readaheadBlocks ?? defaultReadaheadBlocks(blockSizeBytes);
    if (!Number.isSafeInteger(this.readaheadBlocks) || this.readaheadBlocks < 1) {
      throw new RangeError(`readaheadBlocks must be a positive integer, got ${this.readaheadBlocks}`);
    }
    this.#store = options.store;
    this.#readaheadBudget =
      options.readaheadBudgetBytes === undefined
        ? undefined
        : new ReadaheadBudget(options.readaheadBudgetBytes);
    // Who supplied a block matters as long as the block may be cached: size it like the store.
    this.#provenance = boundedCache(Math.max(PROVENANCE_ENTRIES, options.store.stats().maxEntries));
    this.#semaphore = new Semaphore(options.proxyFsParallels);
    this.#trust = new BlobTrust(
      options.verifiedRecordBytes === undefined ? {} : { verifiedBytes: options.verifiedRecordBytes },
    );
    this.#metrics = options.metrics ?? NOOP_METRICS;
    this.#buffers = options.buffers ?? UNPOOLED;
    this.#onBadBlock = options.onBadBlock;
    this.#fetcher = new BlockFetcher({
      store: options.store,
      semaphore: this.#semaphore,
      trust: this.#trust,
      provenance: this.#provenance,
      metrics: this.#metrics,
      timing: { transferTimeoutMs: options.transferTimeoutMs, connectTimeoutMs: options.connectTimeoutMs },
      blockSize: blockSizeBytes,
      buffers: this.#buffers,
      ...(options.isOwned ? { isOwned: options.isOwned } : {}),
      ...(options.onBadBlock ? { onBadBlock: options.onBadBlock } : {}),
    });
  }

  /**
   * The whole blob, verified: bytes flow in order while later blocks are fetched; the stream fails
   * (DIGEST_MISMATCH, BLOCK_UNAVAILABLE, ...) before a wrong blob could be completed.
   */
  streamBlob(blob: BlobDescriptor, sources: SourceList, options: StreamOptions = {}): Readable {
    checkBlob(blob);
    const count = blockCount(blob.size, this.blockSizeBytes);
    const record = this.#verified(blob);
    const { onBlock } = options;
    const fetch = async (index: number, signal: AbortSignal): Promise<BlockResult> => {
      const result = await this.#acquire(blob, index, sources, signal, options);
      onBlock?.(
        result.via === "source" ? (result.supplier?.kind ?? "source") : result.via,
        result.bytes.length,
      );
      return result;
    };
    const check: BlockCheck = record
      ? new VerifiedBlockCheck(record, this.#trust, fetch)
      : new WholeBlobCheck(blob, this.#trust.tagger, {
          verified: (blockTags) => this.#markVerified(blob, blockTags),
          mismatch: (actual, tags, suppliers) =>
            this.#recover(blob, actual, tags, suppliers, options.authoritative),
        });
    return this.#readable(0, count - 1, fetch, check, options);
  }

  /**
   * Bytes [start, end] (inclusive, as in an HTTP Range) of a verified blob, every block checked against
   * the blob's record wherever it comes from. Throws BlobNotVerifiedError when the blob was never
   * verified (pass the Range through to the origin), RangeInvalidError for an impossible range.
   */
  readRange(
    blob: BlobDescriptor,
    start: number,
    end: number,
    sources: SourceList,
    options: StreamOptions = {},
  ): Readable {
    checkBlob(blob);
    if (
      !Number.isSafeInteger(start) ||
      !Number.isSafeInteger(end) ||
      start < 0 ||
      end < start ||
      end >= blob.size
    ) {
      throw new RangeInvalidError(
        `range ${start}-${end} is outside blob ${blob.digest} of ${blob.size} bytes`,
      );
    }
    const record = this.#verified(blob);
    if (!record) throw new BlobNotVerifiedError(blob.digest);
    const size = this.blockSizeBytes;
    const fetch = (index: number, signal: AbortSignal) =>
      this.#acquire(blob, index, sources, signal, options);
    const check = new VerifiedBlockCheck(record, this.#trust, fetch);
    const slice = (index: number, length: number): readonly [number, number] | undefined => {
      const from = Math.max(0, start - index * size);
      const to = Math.min(length, end + 1 - index * size);
      return from === 0 && to === length ? undefined : [from, to];
    };
    return this.#readable(Math.floor(start / size), Math.floor(end / size), fetch, check, options, slice);
  }

  /**
   * A block's bytes (a chunk of streamBlob or readRange, the answer of getBlock or cachedBlock) will not
   * be read again: with a pool, its buffer may be used for another block. Call it only once the bytes
   * are written (a socket write's callback); a chunk never released is left to the garbage collector.
   */
  releaseBlock(bytes: Uint8Array): void {
    this.#buffers.release(bytes);
  }

  /** Whether the blob was verified (and its record is still remembered): Range reads are allowed. */
  isVerified(blob: BlobDescriptor): boolean {
    return this.#verified(blob) !== undefined;
  }

  /**
   * One block if the store holds it (checked as getBlock checks it), else undefined: nothing is fetched
   * and no fetch in flight is joined, since the peer asking may be the one that fetch waits on. What a
   * peer's cached-only request gets. Nothing of a blob under recovery.
   */
  async cachedBlock(blob: BlobDescriptor, index: number): Promise<Uint8Array | undefined> {
    this.#checkBlock(blob, index);
    if (this.#trust.isSuspect(blob.digest)) return undefined;
    return (await this.#fetcher.cached(blockRequest(blob, index, this.blockSizeBytes)))?.bytes;
  }

  /**
   * One block, from the store or fetched once (single-flight): what the peer server serves. A block of
   * a verified blob is checked; others are verified by the requester, end to end.
   */
  async getBlock(
    blob: BlobDescriptor,
    index: number,
    sources: SourceList,
    options: StreamOptions = {},
  ): Promise<Uint8Array> {
    this.#checkBlock(blob, index);
    const signal = options.signal ?? new AbortController().signal;
    return (await this.#acquire(blob, index, sources, signal, { ...options, waitForRecovery: false })).bytes;
  }

  /** A valid blob and one of its block indexes, or RangeInvalidError. */
  #checkBlock(blob: BlobDescriptor, index: number): void {
    checkBlob(blob);
    if (!Number.isSafeInteger(index) || index < 0 || index >= blockCount(blob.size, this.blockSizeBytes)) {
      throw new RangeInvalidError(`block ${index} is outside blob ${blob.digest} of ${blob.size} bytes`);
    }
  }

  stats(): EngineStats {
    const counts = this.#trust.counts;
    return {
      flights: this.#fetcher.flights,
      slotsInUse: this.#semaphore.inUse,
      slotsWaiting: this.#semaphore.waiting,
      verifiedBlobs: counts.verified,
      suspectBlobs: counts.suspect,
      readaheadBytes: this.#readaheadBudget?.inUseBytes,
      store: this.#store.stats(),
    };
  }

  #readable(
    first: number,
    last: number,
    fetch: (index: number, signal: AbortSignal) => Promise<BlockResult>,
    check: BlockCheck,
    options: StreamOptions,
    slice?: (index: number, length: number) => readonly [number, number] | undefined,
  ): Readable {
    const stream = new BlockReadable({
      first,
      last,
      readahead: this.readaheadBlocks,
      highWaterMark: this.blockSizeBytes,
      buffers: this.#buffers,
      fetch,
      check,
      ...(slice ? { slice } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(this.#readaheadBudget
        ? { budget: { shared: this.#readaheadBudget, blockBytes: this.blockSizeBytes } }
        : {}),
    });
    stream.once("error", (err) => {
      // A consumer going away is not an engine error.
      if (!isAbort(err)) this.#metrics.error(errorCode(err));
    });
    return stream;
  }

  async #acquire(
    blob: BlobDescriptor,
    index: number,
    sources: SourceList,
    signal: AbortSignal,
    options: StreamOptions,
  ): Promise<BlockResult> {
    // A blob under recovery is being fetched from the authoritative source right now, into the cache: a
    // stream waits for that (a client retries a failed blob at once) instead of fetching it from there
    // twice. The owner side answers peers at once (from the authoritative source while the blob is
    // suspect): a peer kept waiting would take it for a stalled peer.
    const recovery = this.#recoveries.get(blob.digest);
    if (recovery && options.waitForRecovery !== false) await untilSettled(recovery, signal);
    const request = blockRequest(blob, index, this.blockSizeBytes);
    const { authoritative } = options;
    // While a blob is suspect, only the authoritative source is asked (if there is one).
    const list =
      authoritative && this.#trust.isSuspect(blob.digest)
        ? [authoritative]
        : typeof sources === "function"
          ? sources(request)
          : sources;
    return this.#fetcher.acquire(request, list, signal, authoritative);
  }

  #verified(blob: BlobDescriptor): VerifiedBlob | undefined {
    return this.#trust.verified(blob.digest, blob.size, this.blockSizeBytes);
  }

  #markVerified(blob: BlobDescriptor, blockTags: Buffer): void {
    this.#trust.markVerified({
      digest: blob.digest,
      size: blob.size,
      blockSize: this.blockSizeBytes,
      blockTags,
    });
  }

  /**
   * A stream saw the wrong digest: drop the blob's blocks now (before the stream errors), then compare
   * with the authoritative copy in the background. One recovery per blob at a time.
   */
  #recover(
    blob: BlobDescriptor,
    actual: string,
    servedTags: Buffer,
    suppliers: Suppliers,
    authoritative: BlockSource | undefined,
  ): Promise<MismatchReport> {
    const running = this.#recoveries.get(blob.digest);
    if (running) return running;
    this.#trust.markSuspect(blob.digest);
    const dropped = this.#dropBlocks(blob);
    const recovery = (async () => {
      await dropped;
      const { report, blockTags } = await compareWithAuthoritative({
        blob,
        blockSize: this.blockSizeBytes,
        readahead: this.readaheadBlocks,
        servedTags,
        tagger: this.#trust.tagger,
        suppliers,
        authoritative,
        fetch: async (request, signal) =>
          (await this.#fetcher.fetchDirect(request, [authoritative!], signal, authoritative)).bytes,
        release: (bytes) => this.#buffers.release(bytes),
      });
      for (const bad of report.badBlocks)
        this.#onBadBlock?.({ digest: blob.digest, index: bad.index, source: bad.source });
      if (blockTags) this.#markVerified(blob, blockTags);
      else await this.#dropBlocks(blob);
      return report;
    })();
    const settled = recovery.catch((err: unknown): MismatchReport => ({
      digest: blob.digest,
      badBlocks: [],
      recovered: false,
      error: err as never,
    }));
    this.#recoveries.set(blob.digest, settled);
    void settled.finally(() => this.#recoveries.delete(blob.digest));
    void actual;
    return settled;
  }

  async #dropBlocks(blob: BlobDescriptor): Promise<void> {
    const count = blockCount(blob.size, this.blockSizeBytes);
    const deletes: Promise<boolean>[] = [];
    for (let index = 0; index < count; index++) {
      const key = blockKey(blob.digest, index);
      this.#provenance.delete(key);
      // Unconditionally: on disk a put in progress is not indexed yet, and the delete queues behind it.
      deletes.push(this.#store.delete(key));
    }
    await Promise.all(deletes);
  }
}

/** Resolves when `promise` settles (either way), or rejects with AbortedError when `signal` fires first. */
function untilSettled(promise: Promise<unknown>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(new AbortedError());
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new AbortedError());
    signal.addEventListener("abort", onAbort, { once: true });
    const done = () => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    };
    promise.then(done, done);
  });
}
