/**
 * Where a block can come from. The block engine asks its sources in order (origin last); the origin
 * source ranges a blob from the registry with the requesting pod's credentials, a peer source asks the
 * block's owner. Adding a place blocks come from is adding one BlockSource.
 */

/** One block of one blob: bytes [offset, offset + length) of the blob `digest`. */
export interface BlockRequest {
  readonly digest: string;
  readonly blobSize: number;
  readonly index: number;
  readonly offset: number;
  readonly length: number;
}

/**
 * What the engine tells a source about one fetch, beyond the abort signal. Optional for sources: one
 * that ignores it still works (its whole fetch is then timed as one transfer).
 */
export interface FetchContext {
  /** The seed's connectTimeout in milliseconds: the source applies it to its connects. */
  readonly connectTimeoutMs: number;
  /**
   * Call whenever bytes arrive: it resets the engine's transferTimeout clock, so a slow but moving
   * transfer of a large block is not aborted, while one that stalls is.
   */
  progress(bytes: number): void;
}

export interface BlockSource {
  /** Metrics label: "origin", "peer", ... */
  readonly kind: string;
  /** Names this source in errors and mismatch reports (e.g. "peer 10.0.3.7:65002"); defaults to kind. */
  readonly id?: string;
  /**
   * Resolves with exactly `request.length` bytes, or rejects with a BlockFetchError (errors.ts). Honors
   * `signal` (the engine aborts on transferTimeout and when nobody wants the block any more).
   */
  fetchBlock(request: BlockRequest, signal: AbortSignal, context?: FetchContext): Promise<Uint8Array>;
}

/**
 * The sources of a stream: one list for every block, or a list per block (rendezvous hashing gives each
 * block its own owner -> next candidate -> origin order).
 */
export type SourceList = readonly BlockSource[] | ((request: BlockRequest) => readonly BlockSource[]);

/** A blob to stream: its digest and size (from the manifest or a HEAD upstream). */
export interface BlobDescriptor {
  readonly digest: string;
  readonly size: number;
}
