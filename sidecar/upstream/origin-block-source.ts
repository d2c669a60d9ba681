/**
 * The registry as a block source: block b of a blob is a ranged GET (`Range: bytes=a-b`) with the
 * requesting client's credential, through the redirect policy, with the redirect target remembered
 * for the blob. Bytes land in one buffer of the block's size as they arrive (no second copy), and each
 * chunk reports progress so a slow but moving transfer is not mistaken for a stall.
 */
import {
  BlockFetchError,
  UNPOOLED,
  type BlockBuffers,
  type BlockRequest,
  type BlockSource,
  type FetchContext,
} from "../blocks/index.ts";
import type { OriginSegments } from "./origin-segments.ts";
import type { BlobTarget, UpstreamRegistry } from "./upstream-registry.ts";
import { UpstreamError } from "./upstream-error.ts";

export class OriginBlockSource implements BlockSource {
  readonly kind = "origin";
  readonly id: string;
  readonly #upstream: UpstreamRegistry;
  readonly #target: Omit<BlobTarget, "digest">;
  readonly #segments: OriginSegments | undefined;
  readonly #buffers: BlockBuffers;

  /**
   * With `segments`, blocks are read in segments (sequential streams); without, one GET per block, into
   * a buffer from `buffers` (default its own allocation).
   */
  constructor(
    upstream: UpstreamRegistry,
    target: Omit<BlobTarget, "digest">,
    options: { readonly segments?: OriginSegments | undefined; readonly buffers?: BlockBuffers } = {},
  ) {
    this.#upstream = upstream;
    this.#target = target;
    this.#segments = options.segments;
    this.#buffers = options.buffers ?? UNPOOLED;
    this.id = `origin ${target.host}`;
  }

  async fetchBlock(request: BlockRequest, signal: AbortSignal, context?: FetchContext): Promise<Uint8Array> {
    if (this.#segments) {
      try {
        return await this.#segments.fetchBlock(this.#upstream, this.#target, request, signal, context);
      } catch (err) {
        throw toFetchError(err, signal);
      }
    }
    const end = request.offset + request.length - 1;
    try {
      const res = await this.#upstream.rangeGet(
        { ...this.#target, digest: request.digest },
        request.offset,
        end,
        signal,
      );
      const whole = res.statusCode === 200 && request.offset === 0 && request.length === request.blobSize;
      if (res.statusCode !== 206 && !whole) {
        await res.body.dump().catch(() => undefined);
        throw new BlockFetchError("SOURCE_FAILED", `registry answered ${res.statusCode} to a ranged GET`);
      }
      const out = this.#buffers.allocate(request.length);
      let filled = 0;
      try {
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          if (filled + chunk.length > request.length) {
            res.body.destroy();
            throw new BlockFetchError(
              "BLOCK_LENGTH",
              `registry sent more than the ${request.length} bytes asked for`,
            );
          }
          chunk.copy(out, filled);
          filled += chunk.length;
          context?.progress(chunk.length);
        }
        if (filled !== request.length) {
          throw new BlockFetchError("BLOCK_LENGTH", `registry sent ${filled} of ${request.length} bytes`);
        }
      } catch (err) {
        // Never handed out, and nothing writes into it once the loop has left.
        this.#buffers.release(out);
        throw err;
      }
      return out;
    } catch (err) {
      throw toFetchError(err, signal);
    }
  }
}

function toFetchError(err: unknown, signal: AbortSignal): BlockFetchError {
  if (err instanceof BlockFetchError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof UpstreamError) {
    switch (err.code) {
      case "UPSTREAM_UNAUTHORIZED":
      case "UPSTREAM_DENIED":
        return new BlockFetchError("UNAUTHORIZED", message, { cause: err });
      case "UPSTREAM_NOT_FOUND":
        return new BlockFetchError("NOT_FOUND", message, { cause: err });
      case "UPSTREAM_TIMEOUT":
        return new BlockFetchError(isConnectTimeout(err) ? "CONNECT_TIMEOUT" : "TRANSFER_TIMEOUT", message, {
          cause: err,
        });
      default:
        return new BlockFetchError("SOURCE_FAILED", message, { cause: err });
    }
  }
  const code = typeof err === "object" && err !== null && "code" in err ? String(err.code) : "";
  if (code === "UND_ERR_BODY_TIMEOUT")
    return new BlockFetchError("TRANSFER_TIMEOUT", message, { cause: err });
  if (signal.aborted) return new BlockFetchError("SOURCE_FAILED", `aborted: ${message}`, { cause: err });
  return new BlockFetchError("SOURCE_FAILED", message, { cause: err });
}

function isConnectTimeout(err: UpstreamError): boolean {
  const cause = err.cause as { code?: string } | undefined;
  return cause?.code === "UND_ERR_CONNECT_TIMEOUT";
}
