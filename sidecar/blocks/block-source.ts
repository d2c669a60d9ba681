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

export interface BlockSource {
  /** Metrics label: "origin", "peer", ... */
  readonly kind: string;
  /**
   * Resolves with exactly `request.length` bytes, or rejects with a BlockFetchError. Honors `signal`
   * (the engine aborts on transferTimeout and when nobody wants the block any more).
   */
  fetchBlock(request: BlockRequest, signal: AbortSignal): Promise<Uint8Array>;
}

/** A blob to stream: its digest and size (from the manifest or a HEAD upstream). */
export interface BlobDescriptor {
  readonly digest: string;
  readonly size: number;
}
