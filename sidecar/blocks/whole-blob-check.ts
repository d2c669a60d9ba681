/**
 * The check of a blob not verified before: sha256 over the whole blob, released block by block except
 * the last, which is held back until the digest matches. It also records the sha256 of every block and
 * who supplied it: on success that becomes the blob's verified record, on a mismatch it is what the
 * recovery compares with the authoritative copy to find who lied.
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
  readonly #blockDigests: Buffer;
  readonly #suppliers: (BlockSource | undefined)[];
  #finished = false;

  constructor(blob: BlobDescriptor, blocks: number, outcome: WholeBlobOutcome) {
    this.#blob = blob;
    this.#outcome = outcome;
    this.#blockDigests = Buffer.alloc(blocks * BLOCK_DIGEST_BYTES);
    this.#suppliers = new Array<BlockSource | undefined>(blocks).fill(undefined);
  }

  accept(index: number, result: BlockResult, last: boolean): Uint8Array {
    this.#hash.update(result.bytes);
    blockSha256(result.bytes).copy(this.#blockDigests, index * BLOCK_DIGEST_BYTES);
    this.#suppliers[index] = result.supplier;
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
    if (actual === this.#blob.digest) {
      this.#outcome.verified(this.#blockDigests);
      return;
    }
    const recovery = this.#outcome.mismatch(actual, this.#blockDigests, this.#suppliers);
    throw new DigestMismatchError(this.#blob.digest, actual, recovery);
  }
}
