/**
 * One attempt of one source for one block, under transferTimeout: the clock restarts whenever the
 * source reports progress, and when it runs out the attempt is aborted (the source's signal fires) and
 * fails with TRANSFER_TIMEOUT. The attempt settles even if the source ignores its signal.
 */
import type { BlockRequest, BlockSource, FetchContext } from "./block-source.ts";
import { AbortedError, BlockFetchError, TransferTimeoutError } from "./errors.ts";

export interface Timing {
  readonly transferTimeoutMs: number;
  readonly connectTimeoutMs: number;
}

/**
 * Resolves with exactly request.length bytes, or rejects with a BlockFetchError (the source failed)
 * or an AbortedError (`signal` fired: the caller no longer wants the block).
 */
export async function attemptFetch(
  source: BlockSource,
  request: BlockRequest,
  signal: AbortSignal,
  timing: Timing,
): Promise<Uint8Array> {
  if (signal.aborted) throw new AbortedError();
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new TransferTimeoutError(request, source.kind, timing.transferTimeoutMs));
  }, timing.transferTimeoutMs);
  const onAbort = () => controller.abort(new AbortedError());
  signal.addEventListener("abort", onAbort, { once: true });
  const context: FetchContext = {
    connectTimeoutMs: timing.connectTimeoutMs,
    progress: () => {
      if (!timedOut) timer.refresh();
    },
  };
  try {
    const bytes = await Promise.race([
      source.fetchBlock(request, controller.signal, context),
      rejectOnAbort(controller.signal),
    ]);
    if (bytes.byteLength !== request.length) {
      throw new BlockFetchError(
        "BLOCK_LENGTH",
        `${source.id ?? source.kind} sent ${bytes.byteLength} bytes for block ${request.index} of ${request.digest}, expected ${request.length}`,
      );
    }
    return bytes;
  } catch (err) {
    if (signal.aborted) throw new AbortedError("aborted", { cause: err });
    if (timedOut) throw new TransferTimeoutError(request, source.kind, timing.transferTimeoutMs);
    if (err instanceof BlockFetchError) throw err;
    throw new BlockFetchError("SOURCE_FAILED", `${source.id ?? source.kind}: ${String(err)}`, { cause: err });
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
  }
}

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}
