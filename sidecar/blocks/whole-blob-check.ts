/**
 * The check of a blob not verified before: sha256 over the whole blob, released block by block except
 * the last, which is held back until the digest matches. It also records the tag of every block (a keyed
 * GMAC, block-tag.ts: the bytes are sha256-hashed once, for the blob) and who supplied it: on success
 * that becomes the blob's verified record, on a mismatch it is what the recovery compares with the
 * authoritative copy to find who lied. Both grow with the blocks that
 * arrived, never with the size the registry announced: a blob that claims 16 TiB costs nothing until
 * its bytes come.
 */
import { createHash } from "node:crypto";
import type { BlobDescriptor, BlockSource } from "./block-source.ts";
import type { BlockCheck } from "./block-readable.ts";
import type { BlockResult } from "./block-fetcher.ts";
import { BLOCK_TAG_BYTES } from "./block-tag.ts";
import type { BlockTagger } from "./block-tag.ts";
import { DigestMismatchError } from "./errors.ts";
import type { MismatchReport } from "./errors.ts";

export type Suppliers = readonly (BlockSource | undefined)[];

export interface WholeBlobOutcome {
  /** The digest matched: `blockTags` holds the tag of every block. */
  verified(blockTags: Buffer): void;
  /** The digest did not match: start the recovery (its report settles the error's `recovery`). */
  mismatch(actual: string, blockTags: Buffer, suppliers: Suppliers): Promise<MismatchReport>;
}

export class WholeBlobCheck implements BlockCheck {
  readonly #blob: BlobDescriptor;
  readonly #outcome: WholeBlobOutcome;
  readonly #tagger: BlockTagger;
  readonly #hash = createHash("sha256");
  #blockTags = Buffer.alloc(64 * BLOCK_TAG_BYTES);
  readonly #suppliers: (BlockSource | undefined)[] = [];
  #finished = false;

  constructor(blob: BlobDescriptor, tagger: BlockTagger, outcome: WholeBlobOutcome) {
    this.#blob = blob;
    this.#tagger = tagger;
    this.#outcome = outcome;
  }

  /** Blocks arrive in order from block 0: each one's record is appended. */
  accept(index: number, result: BlockResult, last: boolean): Uint8Array {
    if (index !== this.#suppliers.length) {
      throw new Error(`whole-blob check got block ${index} after ${this.#suppliers.length} blocks`);
    }
    this.#hash.update(result.bytes);
    const at = index * BLOCK_TAG_BYTES;
    if (at + BLOCK_TAG_BYTES > this.#blockTags.length) {
      const grown = Buffer.alloc(this.#blockTags.length * 2);
      this.#blockTags.copy(grown);
      this.#blockTags = grown;
    }
    this.#tagger.tag(result.bytes).copy(this.#blockTags, at);
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
    const blockTags = this.#blockTags.subarray(0, this.#suppliers.length * BLOCK_TAG_BYTES);
    if (actual === this.#blob.digest) {
      this.#outcome.verified(Buffer.from(blockTags));
      return;
    }
    const recovery = this.#outcome.mismatch(actual, blockTags, this.#suppliers);
    throw new DigestMismatchError(this.#blob.digest, actual, recovery);
  }
}
