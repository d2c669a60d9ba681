/**
 * The sidecar's memory budget: one declaration that the sidecar's bounds, the webhook's memory limit
 * for injected sidecars and the chart's default (`sidecar.memoryMargin`) all come from.
 *
 *   memory limit = cache cap (memory mode) + SIDECAR_MEMORY_MARGIN_BYTES
 *   SIDECAR_MEMORY_MARGIN_BYTES = SIDECAR_RUNTIME_BYTES + SIDECAR_WORKING_MARGIN_BYTES
 *
 * The working margin is what a sidecar may hold beyond its cache and its idle process under any load;
 * test/integration/sidecar/memory-bound.test.ts drives 600 concurrent GETs over 40 blobs through a
 * 32 MiB cache and checks the sampled peak RSS against it. Its parts:
 */
const MiB = 1024 * 1024;

export const SIDECAR_MEMORY_BUDGET = Object.freeze({
  /**
   * Dropped blocks: in memory mode the block pool's free buffers, kept for the next blocks
   * (sidecar/buffers/block-pool.ts); beyond them, and in disk mode, blocks awaiting collection: a full GC
   * is asked for after this many bytes were let go (sidecar/memory/block-reclaimer.ts); without it V8
   * waits for 64 MiB.
   */
  droppedBlocksBytes: 8 * MiB,
  /** Blocks of an origin segment that arrived before anyone asked for them (origin-segments.ts). */
  originLeftoverBytes: 8 * MiB,
  /**
   * Blocks fetched for streams and not yet released to them. In flight: proxyFsParallels is lowered
   * where that many blocks would hold more (sidecar/memory/fetch-slots.ts; the default 128 fetches of
   * 256 KiB blocks fit, 8 of 4 MiB blocks). Read ahead beyond each stream's next two blocks: all streams
   * together borrow at most this much (sidecar/blocks/readahead-budget.ts), whether the blocks are
   * still in flight, in the cache or already evicted from it.
   */
  streamBlockBytes: 32 * MiB,
  /**
   * The JavaScript heap of open requests (600 concurrent blob GETs took 15 MiB) and its 1 MiB young
   * generation, and the allocator's own slack.
   */
  requestBytes: 16 * MiB,
});

/** What a sidecar holds beyond its cache cap and its idle process, under any load. */
export const SIDECAR_WORKING_MARGIN_BYTES =
  SIDECAR_MEMORY_BUDGET.droppedBlocksBytes +
  SIDECAR_MEMORY_BUDGET.originLeftoverBytes +
  SIDECAR_MEMORY_BUDGET.streamBlockBytes +
  SIDECAR_MEMORY_BUDGET.requestBytes;

/**
 * The idle sidecar process from its image (the Node runtime and the bundle): 72-74 MB resident,
 * measured by `npm run bench -- startup`, with room for Node's own variation.
 */
export const SIDECAR_RUNTIME_BYTES = 96 * MiB;

/** Added to the cache cap to give the sidecar's memory limit (the chart's `sidecar.memoryMargin`). */
export const SIDECAR_MEMORY_MARGIN_BYTES = SIDECAR_RUNTIME_BYTES + SIDECAR_WORKING_MARGIN_BYTES;

/** SIDECAR_MEMORY_MARGIN_BYTES as a Kubernetes quantity (the default of ACR_P2P_SIDECAR_MEMORY_MARGIN). */
export const SIDECAR_MEMORY_MARGIN = `${SIDECAR_MEMORY_MARGIN_BYTES / MiB}Mi`;
