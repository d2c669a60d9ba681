/**
 * What the engine knows about blobs beyond the bytes it caches:
 * - verified blobs: a blob whose whole sha256 once matched, with the tag of each of its blocks (a keyed
 *   GMAC, block-tag.ts). Any block of it, from the cache or from any source, can then be checked on its
 *   own before release; that is what lets Range requests be served and warm streams skip the whole-blob
 *   hash.
 * - suspect blobs: a blob that failed verification and is being recovered: until it verifies again only
 *   the authoritative source (the origin) may fill the cache with its blocks.
 * Both tables are bounded LRU caches (verified records by their size in bytes; a record heavier than the
 * whole bound is not kept).
 */
import { LRUCache } from "lru-cache";
import { boundedCache } from "../../lib/bounded-cache.ts";
import { BLOCK_TAG_BYTES, BlockTagger } from "./block-tag.ts";

export interface VerifiedBlob {
  readonly digest: string;
  readonly size: number;
  readonly blockSize: number;
  /** The tag of block i (block-tag.ts) at [i * 16, i * 16 + 16), under this trust's key. */
  readonly blockTags: Buffer;
}

export interface BlobTrustOptions {
  /** Memory for verified records; 8 MiB keeps 128 GiB of blobs at 256 KiB blocks. */
  readonly verifiedBytes?: number;
  readonly maxSuspects?: number;
}

export class BlobTrust {
  /** Tags blocks for the records of this trust (one key per engine). */
  readonly tagger = new BlockTagger();
  readonly #verified: LRUCache<string, VerifiedBlob>;
  readonly #suspects: LRUCache<string, true>;

  constructor(options: BlobTrustOptions = {}) {
    this.#verified = new LRUCache({
      maxSize: options.verifiedBytes ?? 8 * 1024 * 1024,
      sizeCalculation: (v) => v.blockTags.byteLength + 64,
    });
    this.#suspects = boundedCache(options.maxSuspects ?? 1024);
  }

  /** The record of a verified blob with this exact geometry, if any. */
  verified(digest: string, size: number, blockSize: number): VerifiedBlob | undefined {
    const record = this.#verified.get(digest);
    return record && record.size === size && record.blockSize === blockSize ? record : undefined;
  }

  markVerified(record: VerifiedBlob): void {
    this.#verified.set(record.digest, record);
    this.#suspects.delete(record.digest);
  }

  markSuspect(digest: string): void {
    this.#verified.delete(digest);
    this.#suspects.set(digest, true);
  }

  isSuspect(digest: string): boolean {
    return this.#suspects.has(digest);
  }

  /** Whether `bytes` are block `index` of the verified blob `record`. */
  matches(record: VerifiedBlob, index: number, bytes: Uint8Array): boolean {
    const expected = record.blockTags.subarray(index * BLOCK_TAG_BYTES, (index + 1) * BLOCK_TAG_BYTES);
    return expected.byteLength === BLOCK_TAG_BYTES && this.tagger.tag(bytes).equals(expected);
  }

  get counts(): { verified: number; suspect: number } {
    return { verified: this.#verified.size, suspect: this.#suspects.size };
  }
}
