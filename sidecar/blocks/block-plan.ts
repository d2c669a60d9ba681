/**
 * How a blob splits into blocks: block i covers bytes [i * blockSize, min(size, (i + 1) * blockSize)).
 * The engine has one block size, so (digest, index) names a block; peers check the block size on every
 * request, and the disk store is emptied at start, so keys never outlive the geometry they assume.
 */
import type { BlobDescriptor, BlockRequest } from "./block-source.ts";
import { BlockError } from "./errors.ts";

const SHA256_DIGEST = /^sha256:[0-9a-f]{64}$/;

export function blockCount(size: number, blockSize: number): number {
  return Math.ceil(size / blockSize);
}

export function blockRequest(blob: BlobDescriptor, index: number, blockSize: number): BlockRequest {
  const offset = index * blockSize;
  return {
    digest: blob.digest,
    blobSize: blob.size,
    index,
    offset,
    length: Math.min(blockSize, blob.size - offset),
  };
}

export function blockKey(digest: string, index: number): string {
  return `${digest}/${index}`;
}

/** The engine verifies sha256 only (what registries use); anything else is refused up front. */
export function checkBlob(blob: BlobDescriptor): void {
  if (!SHA256_DIGEST.test(blob.digest)) {
    throw new BlockError(
      "DIGEST_UNSUPPORTED",
      `blob digest ${JSON.stringify(blob.digest)} is not sha256:<hex>`,
    );
  }
  if (!Number.isSafeInteger(blob.size) || blob.size < 0) {
    throw new BlockError("RANGE_INVALID", `blob ${blob.digest}: size ${blob.size} is not a byte count`);
  }
}
