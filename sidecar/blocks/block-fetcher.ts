/**
 * Gets one block: from the store, else by joining the fetch already in flight for it (single-flight:
 * one fetch per block key, held by this object), else by asking the sources in order under a
 * proxyFsParallels slot. Fetched blocks are committed to the store as they arrive, with who supplied
 * them. A block of a verified blob is checked against its recorded tag wherever it comes from; a bad
 * one is dropped, its supplier reported, and the next source tried.
 *
 * A flight is aborted when its last waiter leaves (the consumers disconnected), so a readahead nobody
 * wants any more stops fetching.
 *
 * Every result carries a lease of its own on the bytes (block-pool.ts): the caller releases it once it
 * will not read them again. A lease is taken before any await after the bytes were found, and when the
 * bytes went back to the pool in between (a stored block evicted, a shared fetch's bytes released by
 * all), the block is looked up again.
 */
import type { BlockBuffers } from "../buffers/block-pool.ts";
import type { BlockRequest, BlockSource } from "./block-source.ts";
import { blockKey } from "./block-plan.ts";
import type { BlockMetrics } from "./block-metrics.ts";
import type { BlobTrust, VerifiedBlob } from "./blob-trust.ts";
import { AbortedError, BlockFetchError, BlockUnavailableError, sourceName } from "./errors.ts";
import type { SourceFailure } from "./errors.ts";
import { attemptFetch } from "./fetch-attempt.ts";
import type { Timing } from "./fetch-attempt.ts";
import type { LRUCache } from "lru-cache";
import type { Semaphore } from "./semaphore.ts";
import type { BlockStore } from "../stores/block-store.ts";

export interface BlockResult {
  readonly bytes: Uint8Array;
  /** Where this caller got it: the store, another caller's fetch, or a source it fetched from. */
  readonly via: "cache" | "shared" | "source";
  /** Who originally supplied the bytes, when known. */
  readonly supplier: BlockSource | undefined;
  /** Checked against the block's recorded tag (only possible for a verified blob). */
  readonly checked: boolean;
}

/** A block whose bytes were wrong, and who supplied it (undefined: nobody remembers). */
export interface BadBlockEvent {
  readonly digest: string;
  readonly index: number;
  readonly source: BlockSource | undefined;
}

export interface FetcherDeps {
  readonly store: BlockStore;
  readonly semaphore: Semaphore;
  readonly trust: BlobTrust;
  /** Who supplied each cached block (bounded). */
  readonly provenance: LRUCache<string, BlockSource>;
  readonly metrics: BlockMetrics;
  readonly timing: Timing;
  readonly blockSize: number;
  /** Where blocks' buffers come from: the leases results carry. */
  readonly buffers: BlockBuffers;
  readonly isOwned?: (request: BlockRequest) => boolean;
  readonly onBadBlock?: (event: BadBlockEvent) => void;
}

interface Flight {
  readonly controller: AbortController;
  readonly promise: Promise<BlockResult>;
  waiters: number;
  settled: boolean;
}

export class BlockFetcher {
  readonly #deps: FetcherDeps;
  readonly #flights = new Map<string, Flight>();
  /**
   * Buffers already hashed against their verified record. The memory store hands back the very buffer
   * it was given, so a warm block is hashed once, not on every hit; a disk store reads a new buffer each
   * time, so what came off the disk is always checked.
   */
  readonly #checkedBuffers = new WeakSet<Uint8Array>();
  #seenEvictions = 0;

  constructor(deps: FetcherDeps) {
    this.#deps = deps;
  }

  /** Block fetches in flight (one per block key, however many callers wait for it). */
  get flights(): number {
    return this.#flights.size;
  }

  /**
   * The block from the store, a fetch in flight, or `sources` in order. `authoritative` names the
   * source allowed to fill the cache while the blob is suspect.
   */
  async acquire(
    request: BlockRequest,
    sources: readonly BlockSource[],
    signal: AbortSignal,
    authoritative?: BlockSource,
  ): Promise<BlockResult> {
    for (;;) {
      if (signal.aborted) throw new AbortedError();
      const key = blockKey(request.digest, request.index);
      let flight = this.#flights.get(key);
      let started = false;
      if (!flight) {
        const cached = await this.#fromStore(key, request);
        if (cached) return cached;
        flight = this.#flights.get(key);
        if (!flight) {
          flight = this.#start(key, request, sources, authoritative);
          started = true;
        }
      }
      const result = await join(flight, signal, this.#deps.buffers);
      if (result === undefined) continue;
      if (started) return result;
      this.#deps.metrics.addBytes("shared", result.bytes.byteLength);
      return { ...result, via: "shared" };
    }
  }

  /** The block if the store holds it (checked against a verified blob's record), else undefined. */
  cached(request: BlockRequest): Promise<BlockResult | undefined> {
    return this.#fromStore(keyOf(request), request);
  }

  /** Fetches from `sources` without the store or single-flight (recovery), committing what it gets. */
  fetchDirect(
    request: BlockRequest,
    sources: readonly BlockSource[],
    signal: AbortSignal,
    authoritative?: BlockSource,
  ): Promise<BlockResult> {
    return this.#fetch(keyOf(request), request, sources, signal, authoritative);
  }

  #start(
    key: string,
    request: BlockRequest,
    sources: readonly BlockSource[],
    authoritative: BlockSource | undefined,
  ): Flight {
    const controller = new AbortController();
    const promise = this.#fetch(key, request, sources, controller.signal, authoritative);
    const flight: Flight = { controller, promise, waiters: 0, settled: false };
    this.#flights.set(key, flight);
    const done = () => {
      flight.settled = true;
      if (this.#flights.get(key) === flight) this.#flights.delete(key);
    };
    promise.then(done, done);
    // Nobody waits any more (they all left before it settled): nobody takes a lease from the flight's.
    promise.then((result) => flight.waiters === 0 && this.#deps.buffers.release(result.bytes), ignore);
    controller.signal.addEventListener("abort", done, { once: true });
    return flight;
  }

  #checkedMatch(bytes: Uint8Array, record: VerifiedBlob, index: number): boolean {
    if (this.#checkedBuffers.has(bytes)) return true;
    if (!this.#deps.trust.matches(record, index, bytes)) return false;
    this.#checkedBuffers.add(bytes);
    return true;
  }

  async #fromStore(key: string, request: BlockRequest): Promise<BlockResult | undefined> {
    const { store, metrics, trust, provenance, buffers } = this.#deps;
    const stored = await store.get(key);
    // The store's lease: evicted since get, its bytes may be another block's by now.
    const bytes = stored && buffers.share(stored);
    metrics.cacheLookup(bytes !== undefined);
    if (stored === undefined || bytes === undefined) return undefined;
    const supplier = provenance.get(key);
    const record = trust.verified(request.digest, request.blobSize, this.#deps.blockSize);
    const bad =
      bytes.byteLength !== request.length || (record && !this.#checkedMatch(stored, record, request.index));
    if (bad) {
      buffers.release(bytes);
      await store.delete(key);
      provenance.delete(key);
      this.#bad(request, supplier);
      return undefined;
    }
    metrics.addBytes("cache", bytes.byteLength);
    return { bytes, via: "cache", supplier, checked: record !== undefined };
  }

  async #fetch(
    key: string,
    request: BlockRequest,
    sources: readonly BlockSource[],
    signal: AbortSignal,
    authoritative: BlockSource | undefined,
  ): Promise<BlockResult> {
    const { semaphore, metrics, trust, timing } = this.#deps;
    const release = await semaphore.acquire(signal);
    metrics.inflight(1);
    try {
      const failures: SourceFailure[] = [];
      for (const source of sources) {
        let bytes: Uint8Array;
        try {
          bytes = await attemptFetch(source, request, signal, timing);
        } catch (err) {
          if (err instanceof AbortedError) throw err;
          const error = err as BlockFetchError;
          failures.push({ source, error });
          metrics.error(error.code);
          continue;
        }
        const record = trust.verified(request.digest, request.blobSize, this.#deps.blockSize);
        if (record && !this.#checkedMatch(bytes, record, request.index)) {
          this.#deps.buffers.release(bytes);
          const error = new BlockFetchError("BLOCK_CORRUPT", `${sourceName(source)} sent a corrupt block`);
          failures.push({ source, error });
          this.#bad(request, source);
          continue;
        }
        await this.#commit(key, request, bytes, source, authoritative);
        metrics.addBytes(source.kind, bytes.byteLength);
        return { bytes, via: "source", supplier: source, checked: record !== undefined };
      }
      metrics.error("BLOCK_UNAVAILABLE");
      throw new BlockUnavailableError(request, failures);
    } finally {
      metrics.inflight(-1);
      release();
    }
  }

  async #commit(
    key: string,
    request: BlockRequest,
    bytes: Uint8Array,
    source: BlockSource,
    authoritative: BlockSource | undefined,
  ): Promise<void> {
    const { store, trust, provenance, isOwned, metrics } = this.#deps;
    // A blob under recovery takes cache entries from the authoritative source only.
    if (trust.isSuspect(request.digest) && source !== authoritative) return;
    provenance.set(key, source);
    const owned = isOwned?.(request);
    await store.put(key, bytes, owned === undefined ? {} : { owned });
    const evictions = store.stats().evictions;
    if (evictions > this.#seenEvictions) metrics.evicted(evictions - this.#seenEvictions);
    this.#seenEvictions = Math.max(this.#seenEvictions, evictions);
  }

  #bad(request: BlockRequest, source: BlockSource | undefined): void {
    this.#deps.metrics.error("BLOCK_CORRUPT");
    this.#deps.onBadBlock?.({ digest: request.digest, index: request.index, source });
  }
}

/**
 * Waits for a flight on behalf of one caller; the last caller to leave aborts the flight. The caller
 * gets a lease of its own, taken from the flight's (the source's) as the result comes in, and the last
 * caller to take one releases the flight's. Undefined: the bytes went back to the pool already (a
 * caller that joined as the flight settled); look the block up again.
 */
function join(flight: Flight, signal: AbortSignal, buffers: BlockBuffers): Promise<BlockResult | undefined> {
  flight.waiters++;
  return new Promise((resolve, reject) => {
    let left = false;
    const leave = () => {
      if (left) return false;
      left = true;
      flight.waiters--;
      signal.removeEventListener("abort", onAbort);
      return true;
    };
    const onAbort = () => {
      if (!leave()) return;
      if (flight.waiters === 0 && !flight.settled) flight.controller.abort(new AbortedError());
      reject(new AbortedError());
    };
    signal.addEventListener("abort", onAbort, { once: true });
    flight.promise.then(
      (result) => {
        if (!leave()) return;
        const bytes = buffers.share(result.bytes);
        if (flight.waiters === 0) buffers.release(result.bytes);
        resolve(bytes === undefined ? undefined : { ...result, bytes });
      },
      (err) => leave() && reject(err),
    );
  });
}

function keyOf(request: BlockRequest): string {
  return blockKey(request.digest, request.index);
}

function ignore(): void {}
