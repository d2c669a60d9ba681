/**
 * What the engine knows about blobs beyond the bytes it caches:
 * - verified blobs: a blob whose whole sha256 once matched, with the sha256 of each of its blocks. Any
 *   block of it, from the cache or from any source, can then be checked on its own before release;
 *   that is what lets Range requests be served and warm streams skip the whole-blob hash.
 * - suspect blobs: a blob that failed verification and is being recovered: until it verifies again only
 *   the authoritative source (the origin) may fill the cache with its blocks.
 * Both tables are bounded LRU maps (verified records by their size in bytes).
 */
import { LruMap } from "./lru-map.ts";

export const BLOCK_DIGEST_BYTES = 32;

export interface VerifiedBlob {
  readonly digest: string;
  readonly size: number;
  readonly blockSize: number;
  /** sha256 of block i at [i * 32, i * 32 + 32). */
  readonly blockDigests: Buffer;
}

export interface BlobTrustOptions {
  /** Memory for verified records; 8 MiB keeps 64 GiB of blobs at 256 KiB blocks. */
  readonly verifiedBytes?: number;
  readonly maxSuspects?: number;
}

export class BlobTrust {
  readonly #verified: LruMap<string, VerifiedBlob>;
  readonly #suspects: LruMap<string, true>;

  constructor(options: BlobTrustOptions = {}) {
    this.#verified = new LruMap(
      options.verifiedBytes ?? 8 * 1024 * 1024,
      (v) => v.blockDigests.byteLength + 64,
    );
    this.#suspects = new LruMap(options.maxSuspects ?? 1024);
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

  get counts(): { verified: number; suspect: number } {
    return { verified: this.#verified.size, suspect: this.#suspects.size };
  }
}

export function expectedBlockDigest(record: VerifiedBlob, index: number): Buffer {
  return record.blockDigests.subarray(index * BLOCK_DIGEST_BYTES, (index + 1) * BLOCK_DIGEST_BYTES);
}
