/**
 * The check of a verified blob: every block is checked against its recorded tag before release (the
 * fetcher already did so for almost every block; `checked` says so). A block that was fetched by a
 * flight started before the blob was verified is hashed here, and if wrong, fetched once more (the
 * fetcher then drops the bad copy and tries the sources with the check on). No whole-blob hash, no
 * holdback: no unchecked byte is ever released.
 */
import type { BlockCheck } from "./block-readable.ts";
import type { BlockResult } from "./block-fetcher.ts";
import type { BlobTrust, VerifiedBlob } from "./blob-trust.ts";
import { BlockFetchError } from "./errors.ts";

export class VerifiedBlockCheck implements BlockCheck {
  readonly #record: VerifiedBlob;
  readonly #trust: BlobTrust;
  readonly #refetch: (index: number, signal: AbortSignal) => Promise<BlockResult>;

  constructor(
    record: VerifiedBlob,
    trust: BlobTrust,
    refetch: (index: number, signal: AbortSignal) => Promise<BlockResult>,
  ) {
    this.#record = record;
    this.#trust = trust;
    this.#refetch = refetch;
  }

  accept(
    index: number,
    result: BlockResult,
    _last: boolean,
    signal: AbortSignal,
  ): Uint8Array | Promise<Uint8Array> {
    if (result.checked || this.#matches(index, result.bytes)) return result.bytes;
    return this.#retry(index, signal);
  }

  async #retry(index: number, signal: AbortSignal): Promise<Uint8Array> {
    const again = await this.#refetch(index, signal);
    if (again.checked || this.#matches(index, again.bytes)) return again.bytes;
    throw new BlockFetchError("BLOCK_CORRUPT", `block ${index} of ${this.#record.digest} is corrupt`);
  }

  #matches(index: number, bytes: Uint8Array): boolean {
    return this.#trust.matches(this.#record, index, bytes);
  }
}
