/**
 * The block engine: public API. Import from here; the other files of sidecar/blocks are internals.
 *
 *   const store = await openBlockStore({ mode: "memory", capacityBytes, blockSizeBytes });
 *   const engine = new BlockEngine({
 *     store,
 *     blockSizeBytes: config.blocksizeKiB * 1024,
 *     proxyFsParallels: config.proxyFsParallels,
 *     transferTimeoutMs: config.transferTimeoutSeconds * 1000,
 *     connectTimeoutMs: config.connectTimeoutSeconds * 1000,
 *     metrics,                 // a BlockMetrics bound to prom-client (no registry is created here)
 *     isOwned, onBadBlock,     // from the P2P layer (rendezvous ownership, quarantine)
 *   });
 *
 *   engine.streamBlob(blob, sources, { authoritative: origin, signal }): Readable
 *       The whole blob, in order, fetched `readaheadBlocks` ahead through the store. `sources` is a
 *       list (origin last) or a function giving each block its own list (owner -> next -> origin).
 *       Verified end to end: a blob never verified before is hashed as a whole and its last block is
 *       held back until the digest matches; a verified blob has each block checked against its
 *       recorded tag (a keyed GMAC, block-tag.ts) instead. Errors (stream 'error', all BlockError
 *       with a stable `code`):
 *         DIGEST_MISMATCH    the consumer never got the last block; the blob's blocks are dropped from
 *                            the store; `err.recovery` settles with a MismatchReport once the blob was
 *                            refetched from `authoritative` and compared block by block (who lied).
 *         BLOCK_UNAVAILABLE  every source failed for one block (`err.failures`: source + error each;
 *                            TRANSFER_TIMEOUT when one made no progress for transferTimeout).
 *         DIGEST_UNSUPPORTED the digest is not sha256:<64 hex> (thrown synchronously).
 *       Destroying the stream (pipeline() does it when the client goes away) aborts its fetches
 *       unless another stream waits for the same blocks.
 *   engine.readRange(blob, start, end, sources, options): Readable      (end inclusive, as HTTP)
 *       Only for a verified blob: throws BlobNotVerifiedError (BLOB_NOT_VERIFIED: pass the Range
 *       through to the origin) or RangeInvalidError (RANGE_INVALID). Check engine.isVerified(blob).
 *   engine.getBlock(blob, index, sources, options): Promise<Uint8Array>
 *       One block, cached or fetched once (single-flight): what the peer server serves.
 *   engine.stats(): EngineStats   (flights, slots in use / waiting, verified and suspect blobs, store)
 *
 * Sources implement BlockSource (block-source.ts): reject with a BlockFetchError, honor the signal,
 * call context.progress(n) as bytes arrive (it resets the transferTimeout clock) and apply
 * context.connectTimeoutMs to their connects. MemoryBlockSource is the in-memory one.
 *
 * Memory bound. The store never holds more than its cap. On top of it, each open stream holds its next
 * two blocks, the block being released and one block in its Readable buffer; blocks further ahead (up
 * to `readaheadBlocks`) borrow from `readaheadBudgetBytes`, shared by all streams, so
 *     memory <= cap + streams x 4 x blockSize + readaheadBudgetBytes + verified records (<= 8 MiB)
 * and, whatever the number of streams, the bytes being fetched are also bounded by
 * proxyFsParallels x blockSize. The sidecar sets both from its memory budget (lib/sidecar-memory.ts).
 * (The HTTP response's socket buffers come on top, as for any server.)
 */
export { BlockEngine, defaultReadaheadBlocks } from "./block-engine.ts";
export type { BlockEngineOptions, EngineStats, StreamOptions } from "./block-engine.ts";
export type { BlobDescriptor, BlockRequest, BlockSource, FetchContext, SourceList } from "./block-source.ts";
export type { BadBlockEvent } from "./block-fetcher.ts";
export { CountingMetrics, NOOP_METRICS } from "./block-metrics.ts";
export type { BlockMetrics, ByteSource } from "./block-metrics.ts";
export { BlockPool, UNPOOLED } from "../buffers/block-pool.ts";
export type { BlockBuffers, BlockPoolOptions, BlockPoolStats } from "../buffers/block-pool.ts";
export { MemoryBlockSource } from "./memory-source.ts";
export type { MemorySourceOptions } from "./memory-source.ts";
export { blockCount, blockRequest } from "./block-plan.ts";
export {
  AbortedError,
  BlobNotVerifiedError,
  BlockError,
  BlockFetchError,
  BlockUnavailableError,
  DigestMismatchError,
  errorCode,
  RangeInvalidError,
  TransferTimeoutError,
} from "./errors.ts";
export type { BadBlock, BlockErrorCode, FetchFailureCode, MismatchReport, SourceFailure } from "./errors.ts";
export { openBlockStore } from "../stores/open-store.ts";
export type { StoreSettings } from "../stores/open-store.ts";
export type { BlockStore, PutOptions, StoreStats } from "../stores/block-store.ts";
