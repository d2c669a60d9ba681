/**
 * Reads a blob from the registry in segments instead of one request per block. A streamed blob asks
 * for its blocks in order (the engine's readahead), so a block request opens one ranged GET for the
 * rest of its aligned segment (e.g. 4 MiB) and the blocks that follow are delivered from that same
 * response as their bytes arrive. The registry then sees one request per segment, not per block (with
 * 256 KiB blocks, 16x fewer; per-request cost is what made small blocks slow: token checks, storage
 * lookups, redirects, round trips).
 *
 * Blocks of a segment nobody has asked for yet wait in a small bounded leftover table (bytes and
 * age), taken by the first request for them; each byte is still fetched once. Flights are shared per
 * (registry, blob): the bytes are content-addressed and every requester was authorized for the blob
 * before the engine asked for blocks.
 *
 * Only for sequential streams: a Range read or a P2P owner asks for scattered blocks, where the rest of
 * a segment would be fetched for nothing; those use one request per block.
 */
import type { BlockBuffers, BlockRequest, FetchContext } from "../blocks/index.ts";
import { BlockFetchError, UNPOOLED } from "../blocks/index.ts";
import { UpstreamError } from "./upstream-error.ts";
import type { BlobTarget, UpstreamRegistry } from "./upstream-registry.ts";

export interface SegmentOptions {
  readonly blockSizeBytes: number;
  /** Bytes per segment (rounded down to whole blocks, at least one). */
  readonly segmentBytes: number;
  /** Cap of the leftover table (blocks fetched ahead of any request). */
  readonly leftoverBytes: number;
  readonly leftoverTtlMs?: number;
  /** A leftover block dropped unused (cap or age): its bytes can be collected. */
  readonly onRelease?: (bytes: number) => void;
  /**
   * Where block buffers come from; default their own allocation. Each waiter gets a lease of its own;
   * a leftover holds the lease of the segment reader.
   */
  readonly buffers?: BlockBuffers;
}

interface Waiter {
  resolve(bytes: Uint8Array): void;
  reject(err: unknown): void;
  progress(bytes: number): void;
}

interface Flight {
  readonly first: number;
  readonly last: number;
  /** The block being filled; blocks before it were delivered. */
  cursor: number;
  readonly waiters: Map<number, Set<Waiter>>;
  readonly controller: AbortController;
  /** Forgets the flight at once (new requests start their own), then aborts its request. */
  abandon(): void;
}

export class OriginSegments {
  readonly #blockSize: number;
  readonly #segmentBlocks: number;
  readonly #leftoverCap: number;
  readonly #leftoverTtlMs: number;
  readonly #flights = new Map<string, Set<Flight>>();
  /** Insertion-ordered: the oldest leftover goes first when the cap is reached. */
  readonly #leftovers = new Map<string, { bytes: Uint8Array; expiresAt: number }>();
  #leftoverBytes = 0;
  readonly #onRelease: (bytes: number) => void;
  readonly #buffers: BlockBuffers;

  constructor(opts: SegmentOptions) {
    this.#blockSize = opts.blockSizeBytes;
    this.#segmentBlocks = Math.max(1, Math.floor(opts.segmentBytes / opts.blockSizeBytes));
    this.#leftoverCap = opts.leftoverBytes;
    this.#leftoverTtlMs = opts.leftoverTtlMs ?? 30_000;
    this.#onRelease = opts.onRelease ?? (() => undefined);
    this.#buffers = opts.buffers ?? UNPOOLED;
  }

  get leftoverBytes(): number {
    return this.#leftoverBytes;
  }

  fetchBlock(
    upstream: UpstreamRegistry,
    target: Omit<BlobTarget, "digest">,
    request: BlockRequest,
    signal: AbortSignal,
    context?: FetchContext,
  ): Promise<Uint8Array> {
    const blob = `${target.host}\u0000${request.digest}`;
    const left = this.#take(`${blob}\u0000${request.index}`);
    if (left) {
      context?.progress(left.byteLength);
      return Promise.resolve(left);
    }
    const flights = this.#flights.get(blob) ?? new Set<Flight>();
    this.#flights.set(blob, flights);
    let flight = [...flights].find((f) => f.cursor <= request.index && request.index <= f.last);
    if (!flight)
      flight = this.#start(upstream, { ...target, digest: request.digest }, request, blob, flights);
    return wait(flight, request.index, signal, context);
  }

  #start(
    upstream: UpstreamRegistry,
    target: BlobTarget,
    request: BlockRequest,
    blob: string,
    flights: Set<Flight>,
  ): Flight {
    const lastOfBlob = Math.ceil(request.blobSize / this.#blockSize) - 1;
    const segmentEnd = (Math.floor(request.index / this.#segmentBlocks) + 1) * this.#segmentBlocks - 1;
    // Stop short of a flight already covering later blocks: each byte is fetched once.
    const nextFlight = Math.min(...[...flights].filter((f) => f.first > request.index).map((f) => f.first));
    const last = Math.min(lastOfBlob, segmentEnd, nextFlight - 1);
    const done = (): void => {
      flights.delete(flight);
      if (flights.size === 0 && this.#flights.get(blob) === flights) this.#flights.delete(blob);
    };
    const controller = new AbortController();
    const flight: Flight = {
      first: request.index,
      last,
      cursor: request.index,
      waiters: new Map(),
      controller,
      abandon: () => {
        done();
        controller.abort();
      },
    };
    flights.add(flight);
    this.#run(upstream, target, request.blobSize, flight, blob).then(done, (err: unknown) => {
      done();
      for (const set of flight.waiters.values()) for (const w of set) w.reject(err);
      flight.waiters.clear();
    });
    return flight;
  }

  async #run(
    upstream: UpstreamRegistry,
    target: BlobTarget,
    size: number,
    flight: Flight,
    blob: string,
  ): Promise<void> {
    const start = flight.first * this.#blockSize;
    const end = Math.min(size, (flight.last + 1) * this.#blockSize) - 1;
    const res = await upstream.rangeGet(target, start, end, flight.controller.signal);
    const whole = res.statusCode === 200 && start === 0 && end === size - 1;
    if (res.statusCode !== 206 && !whole) {
      await res.body.dump().catch(() => undefined);
      throw new BlockFetchError("SOURCE_FAILED", `registry answered ${res.statusCode} to a ranged GET`);
    }
    const lengthOf = (index: number): number => Math.min(this.#blockSize, size - index * this.#blockSize);
    // The block being filled: never handed out, so released here if the response ends first.
    let block: Buffer | undefined = this.#buffers.allocate(lengthOf(flight.cursor));
    let filled = 0;
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        for (const set of flight.waiters.values()) for (const w of set) w.progress(chunk.length);
        let at = 0;
        while (at < chunk.length) {
          if (block === undefined) {
            res.body.destroy();
            throw new BlockFetchError("BLOCK_LENGTH", "registry sent more than the range asked for");
          }
          const n = Math.min(chunk.length - at, block.length - filled);
          chunk.copy(block, filled, at, at + n);
          filled += n;
          at += n;
          if (filled === block.length) {
            this.#deliver(flight, blob, block);
            flight.cursor++;
            block =
              flight.cursor <= flight.last ? this.#buffers.allocate(lengthOf(flight.cursor)) : undefined;
            filled = 0;
          }
        }
      }
    } finally {
      if (block !== undefined) this.#buffers.release(block);
    }
    if (flight.cursor <= flight.last) {
      throw new BlockFetchError(
        "BLOCK_LENGTH",
        `registry ended the range at block ${flight.cursor} of ${flight.last}`,
      );
    }
  }

  #deliver(flight: Flight, blob: string, bytes: Uint8Array): void {
    const waiters = flight.waiters.get(flight.cursor);
    flight.waiters.delete(flight.cursor);
    if (waiters && waiters.size > 0) {
      for (const w of waiters) w.resolve(this.#buffers.share(bytes)!);
      this.#buffers.release(bytes);
      return;
    }
    this.#keep(`${blob}\u0000${flight.cursor}`, bytes);
  }

  #keep(key: string, bytes: Uint8Array): void {
    if (bytes.byteLength > this.#leftoverCap) {
      this.#drop(bytes);
      return;
    }
    const now = Date.now();
    for (const [k, v] of this.#leftovers) {
      if (this.#leftoverBytes + bytes.byteLength <= this.#leftoverCap && v.expiresAt > now) break;
      this.#leftovers.delete(k);
      this.#leftoverBytes -= v.bytes.byteLength;
      this.#drop(v.bytes);
    }
    this.#leftovers.set(key, { bytes, expiresAt: now + this.#leftoverTtlMs });
    this.#leftoverBytes += bytes.byteLength;
  }

  #take(key: string): Uint8Array | undefined {
    const entry = this.#leftovers.get(key);
    if (!entry) return undefined;
    this.#leftovers.delete(key);
    this.#leftoverBytes -= entry.bytes.byteLength;
    if (entry.expiresAt > Date.now()) return entry.bytes;
    this.#drop(entry.bytes);
    return undefined;
  }

  #drop(bytes: Uint8Array): void {
    this.#buffers.release(bytes);
    this.#onRelease(bytes.byteLength);
  }
}

function wait(
  flight: Flight,
  index: number,
  signal: AbortSignal,
  context?: FetchContext,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const set = flight.waiters.get(index) ?? new Set<Waiter>();
    flight.waiters.set(index, set);
    const onAbort = (): void => {
      set.delete(waiter);
      if (set.size === 0) flight.waiters.delete(index);
      // Everyone waiting gave up (client gone, or no progress for transferTimeout): a stalled or
      // unwanted transfer must not hold the next request hostage.
      if (flight.waiters.size === 0) flight.abandon();
      reject(signal.reason ?? new UpstreamError("ABORTED", "aborted"));
    };
    const waiter: Waiter = {
      resolve: (bytes) => {
        signal.removeEventListener("abort", onAbort);
        resolve(bytes);
      },
      reject: (err) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
      progress: (n) => context?.progress(n),
    };
    if (signal.aborted) return onAbort();
    set.add(waiter);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
