/**
 * Errors of the block engine. Every error is a class with a stable string `code`: callers (the registry
 * front, the P2P layer, metrics) branch on the code, never on message text.
 *
 * - Sources reject with BlockFetchError (or a subclass). Anything else a source throws is wrapped as
 *   SOURCE_FAILED, so a buggy source is just one more failed source.
 * - A stream fails with BlockUnavailableError (every source failed for one block), DigestMismatchError
 *   (the blob's sha256 is wrong; the final bytes were never released) or AbortedError.
 * - readRange throws BlobNotVerifiedError (pass the Range through to the origin) or RangeInvalidError.
 */
import { CodedError } from "../../lib/coded-error.ts";
import type { BlockRequest, BlockSource } from "./block-source.ts";

/** Why one source could not deliver one block. */
export type FetchFailureCode =
  | "SOURCE_FAILED"
  | "NOT_FOUND"
  | "UNAUTHORIZED"
  | "CONNECT_TIMEOUT"
  | "TRANSFER_TIMEOUT"
  | "BLOCK_LENGTH"
  | "BLOCK_CORRUPT";

export type BlockErrorCode =
  | FetchFailureCode
  | "BLOCK_UNAVAILABLE"
  | "DIGEST_MISMATCH"
  | "BLOB_NOT_VERIFIED"
  | "RANGE_INVALID"
  | "DIGEST_UNSUPPORTED"
  | "ABORTED";

export class BlockError extends CodedError<BlockErrorCode> {
  constructor(code: BlockErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = new.target.name;
  }
}

/** A source failed to deliver a block. The engine moves on to the next source. */
export class BlockFetchError extends BlockError {
  declare readonly code: FetchFailureCode;
  constructor(code: FetchFailureCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** No byte arrived for transferTimeout: the fetch was aborted and counts as a source failure. */
export class TransferTimeoutError extends BlockFetchError {
  readonly timeoutMs: number;
  constructor(request: BlockRequest, kind: string, timeoutMs: number) {
    super("TRANSFER_TIMEOUT", `${describe(request)}: no progress from ${kind} for ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

export interface SourceFailure {
  readonly source: BlockSource;
  readonly error: BlockFetchError;
}

/** Every source failed for one block: the stream errors (it never hangs). */
export class BlockUnavailableError extends BlockError {
  readonly request: BlockRequest;
  readonly failures: readonly SourceFailure[];
  constructor(request: BlockRequest, failures: readonly SourceFailure[]) {
    const why = failures.map((f) => `${sourceName(f.source)}: ${f.error.code}`).join(", ");
    super("BLOCK_UNAVAILABLE", `${describe(request)}: no source delivered it (${why || "no sources"})`);
    this.request = request;
    this.failures = failures;
  }
}

/** One block that differed from the authoritative copy, and who had supplied it. */
export interface BadBlock {
  readonly index: number;
  /** The source the bad bytes came from; undefined when nobody remembers (an old cache entry). */
  readonly source: BlockSource | undefined;
}

/** What a digest mismatch recovery found out (see mismatch-recovery.ts). */
export interface MismatchReport {
  readonly digest: string;
  /** Blocks whose bytes differed from the authoritative source's. */
  readonly badBlocks: readonly BadBlock[];
  /** The authoritative source's bytes matched the digest (they are now cached and the blob verified). */
  readonly recovered: boolean;
  /** Why the recovery could not compare (no authoritative source, it failed, ...). */
  readonly error?: BlockError;
}

/** The blob's sha256 differs from its digest. The consumer never received the final bytes. */
export class DigestMismatchError extends BlockError {
  readonly expected: string;
  readonly actual: string;
  /** Settles (never rejects) once the block-by-block comparison against the origin is done. */
  readonly recovery: Promise<MismatchReport>;
  constructor(expected: string, actual: string, recovery: Promise<MismatchReport>) {
    super("DIGEST_MISMATCH", `blob ${expected}: content hashes to ${actual}`);
    this.expected = expected;
    this.actual = actual;
    this.recovery = recovery;
  }
}

/** readRange on a blob that was never verified: pass the Range through to the origin instead. */
export class BlobNotVerifiedError extends BlockError {
  constructor(digest: string) {
    super("BLOB_NOT_VERIFIED", `blob ${digest} has not been verified; ranges of it come from the origin`);
  }
}

export class RangeInvalidError extends BlockError {
  constructor(message: string) {
    super("RANGE_INVALID", message);
  }
}

/** The consumer went away (or its signal fired). Not a source failure. */
export class AbortedError extends BlockError {
  constructor(message = "aborted", options?: { cause?: unknown }) {
    super("ABORTED", message, options);
  }
}

/** The stable code of any error: a BlockError's code, else "INTERNAL". */
export function errorCode(error: unknown): BlockErrorCode | "INTERNAL" {
  return error instanceof BlockError ? error.code : "INTERNAL";
}

export function sourceName(source: BlockSource): string {
  return source.id ?? source.kind;
}

function describe(request: BlockRequest): string {
  return `block ${request.index} of ${request.digest}`;
}
