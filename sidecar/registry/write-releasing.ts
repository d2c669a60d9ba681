/**
 * pipeline(stream, res) for a stream whose chunks are block leases (sidecar/buffers/block-pool.ts): each
 * chunk is released once the socket has taken it, which pipeline cannot say (it writes without a
 * callback). A write's callback runs when the kernel has the bytes, or when the connection was closed
 * with them still queued, never while the socket may still read them.
 *
 * As pipeline: the response waits for the stream's backpressure, an error of the stream destroys the
 * response (the client sees a cut body), a response closed before it finished destroys the stream, and
 * the promise settles once the response finished, or with the first error.
 */
import type { ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import { CodedError } from "../../lib/coded-error.ts";

/** What pipeline rejects with in the same case (Node's ERR_STREAM_PREMATURE_CLOSE). */
export class PrematureCloseError extends CodedError<"ERR_STREAM_PREMATURE_CLOSE"> {
  constructor() {
    super("ERR_STREAM_PREMATURE_CLOSE", "Premature close");
    this.name = "PrematureCloseError";
  }
}

export function writeReleasing(
  stream: Readable,
  res: ServerResponse,
  release: (chunk: Uint8Array) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (err?: Error): void => {
      if (settled) return;
      settled = true;
      stream.off("data", onData);
      res.off("drain", onDrain);
      if (!err) return resolve();
      stream.destroy();
      res.destroy();
      reject(err);
    };
    const onData = (chunk: Uint8Array): void => {
      if (!res.write(chunk, () => release(chunk))) stream.pause();
    };
    const onDrain = (): void => {
      stream.resume();
    };
    stream.on("data", onData);
    res.on("drain", onDrain);
    // As pipe does: a stream read through 'readable' before (blob-handler's first bytes) stays paused.
    stream.resume();
    stream.once("end", () => res.end(() => settle()));
    // Kept after settling: a late error must not become an unhandled one.
    stream.on("error", (err) => settle(err));
    res.on("error", (err) => settle(err));
    res.once("close", () => {
      if (!res.writableFinished) settle(new PrematureCloseError());
    });
  });
}
