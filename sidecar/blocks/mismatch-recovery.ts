/**
 * After a blob failed verification: fetch it again from the authoritative source (the origin), block by
 * block, and compare each block's tag (block-tag.ts) with the one the failed stream saw. Blocks that
 * differ are reported with the source that supplied them, so the P2P layer can quarantine exactly the
 * peer that lied. When the authoritative copy matches the digest, its block tags become the verified
 * record.
 */
import { createHash } from "node:crypto";
import type { BlobDescriptor, BlockRequest, BlockSource } from "./block-source.ts";
import { blockCount, blockRequest } from "./block-plan.ts";
import { BLOCK_TAG_BYTES } from "./block-tag.ts";
import type { BlockTagger } from "./block-tag.ts";
import { BlockError } from "./errors.ts";
import type { BadBlock, MismatchReport } from "./errors.ts";
import type { Suppliers } from "./whole-blob-check.ts";

export interface RecoveryInput {
  readonly blob: BlobDescriptor;
  readonly blockSize: number;
  readonly readahead: number;
  /** The tag of each block as the failed stream received it, and who supplied it. */
  readonly servedTags: Buffer;
  /** The tagger that made `servedTags`. */
  readonly tagger: BlockTagger;
  readonly suppliers: Suppliers;
  readonly authoritative: BlockSource | undefined;
  /** Fetches one block from the authoritative source (bypassing cache and single-flight). */
  readonly fetch: (request: BlockRequest, signal: AbortSignal) => Promise<Uint8Array>;
  /** Called with each block `fetch` gave once it was hashed (block-pool.ts leases). */
  readonly release?: (bytes: Uint8Array) => void;
}

export interface RecoveryResult {
  readonly report: MismatchReport;
  /** The block tags of the authoritative copy, when it matched the digest. */
  readonly blockTags?: Buffer;
}

export async function compareWithAuthoritative(input: RecoveryInput): Promise<RecoveryResult> {
  const { blob, blockSize, servedTags, suppliers, tagger } = input;
  const badBlocks: BadBlock[] = [];
  const report = (recovered: boolean, error?: BlockError): MismatchReport => ({
    digest: blob.digest,
    badBlocks,
    recovered,
    ...(error ? { error } : {}),
  });
  if (!input.authoritative) {
    return {
      report: report(false, new BlockError("BLOCK_UNAVAILABLE", "no authoritative source to compare with")),
    };
  }
  const count = blockCount(blob.size, blockSize);
  const hash = createHash("sha256");
  const tags = Buffer.alloc(count * BLOCK_TAG_BYTES);
  const abort = new AbortController();
  const pending = new Map<number, Promise<Uint8Array>>();
  let started = 0;
  try {
    for (let index = 0; index < count; index++) {
      for (; started < count && started < index + Math.max(1, input.readahead); started++) {
        const fetching = input.fetch(blockRequest(blob, started, blockSize), abort.signal);
        fetching.catch(() => undefined);
        pending.set(started, fetching);
      }
      const bytes = await pending.get(index)!;
      pending.delete(index);
      hash.update(bytes);
      const at = index * BLOCK_TAG_BYTES;
      tagger.tag(bytes).copy(tags, at);
      input.release?.(bytes);
      if (!tags.subarray(at, at + BLOCK_TAG_BYTES).equals(servedTags.subarray(at, at + BLOCK_TAG_BYTES))) {
        badBlocks.push({ index, source: suppliers[index] });
      }
    }
  } catch (err) {
    abort.abort();
    const error =
      err instanceof BlockError ? err : new BlockError("BLOCK_UNAVAILABLE", String(err), { cause: err });
    return { report: report(false, error) };
  }
  const recovered = `sha256:${hash.digest("hex")}` === blob.digest;
  if (!recovered) {
    const error = new BlockError(
      "DIGEST_MISMATCH",
      `the authoritative copy of ${blob.digest} does not match it either`,
    );
    return { report: report(false, error) };
  }
  return { report: report(true), blockTags: tags };
}
