/**
 * The check of a blob not verified before: sha256 over the whole blob, released block by block except
 * the last, which is held back until the digest matches. It also records the sha256 of every block and
 * who supplied it: on success that becomes the blob's verified record, on a mismatch it is what the
 * recovery compares with the authoritative copy to find who lied. Both grow with the blocks that
 * arrived, never with the size the registry announced: a blob that claims 16 TiB costs nothing until
 * its bytes come.
 */
import { createHash } from "node:crypto";
import type { BlobDescriptor, BlockSource } from "./block-source.ts";
import type { BlockCheck } from "./block-readable.ts";
import { blockSha256 } from "./block-fetcher.ts";
import type { BlockResult } from "./block-fetcher.ts";
import { BLOCK_DIGEST_BYTES } from "./blob-trust.ts";
import { DigestMismatchError } from "./errors.ts";
import type { MismatchReport } from "./errors.ts";

export type Suppliers = readonly (BlockSource | undefined)[];

export interface WholeBlobOutcome {
  /** The digest matched: `blockDigests` holds the sha256 of every block. */
  verified(blockDigests: Buffer): void;
  /** The digest did not match: start the recovery (its report settles the error's `recovery`). */
  mismatch(actual: string, blockDigests: Buffer, suppliers: Suppliers): Promise<MismatchReport>;
}

export class WholeBlobCheck implements BlockCheck {
  readonly #blob: BlobDescriptor;
  readonly #outcome: WholeBlobOutcome;
  readonly #hash = createHash("sha256");
  #blockDigests = Buffer.alloc(64 * BLOCK_DIGEST_BYTES);
  readonly #suppliers: (BlockSource | undefined)[] = [];
  #finished = false;

  constructor(blob: BlobDescriptor, outcome: WholeBlobOutcome) {
    this.#blob = blob;
    this.#outcome = outcome;
  }

  /** Blocks arrive in order from block 0: each one's record is appended. */
  accept(index: number, result: BlockResult, last: boolean): Uint8Array {
    if (index !== this.#suppliers.length) {
      throw new Error(`whole-blob check got block ${index} after ${this.#suppliers.length} blocks`);
    }
    this.#hash.update(result.bytes);
    const at = index * BLOCK_DIGEST_BYTES;
    if (at + BLOCK_DIGEST_BYTES > this.#blockDigests.length) {
      const grown = Buffer.alloc(this.#blockDigests.length * 2);
      this.#blockDigests.copy(grown);
      this.#blockDigests = grown;
    }
    blockSha256(result.bytes).copy(this.#blockDigests, at);
    this.#suppliers.push(result.supplier);
    if (last) this.#finish();
    return result.bytes;
  }

  end(): void {
    this.#finish();
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    const actual = `sha256:${this.#hash.digest("hex")}`;
    const blockDigests = this.#blockDigests.subarray(0, this.#suppliers.length * BLOCK_DIGEST_BYTES);
    if (actual === this.#blob.digest) {
      this.#outcome.verified(Buffer.from(blockDigests));
      return;
    }
    const recovery = this.#outcome.mismatch(actual, blockDigests, this.#suppliers);
    throw new DigestMismatchError(this.#blob.digest, actual, recovery);
  }
}
