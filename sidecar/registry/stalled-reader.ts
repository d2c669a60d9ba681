/**
 * Drops a client that stopped reading: when the response has been backed up (the socket will not take
 * more) for `ms` without a drain, the response is destroyed. A stopped reader otherwise holds its
 * stream, its readahead and its connection's buffers for as long as it likes; the timeout is the
 * seed's transferTimeout, the same patience the sidecar gives a registry or a peer that sends nothing.
 * A source that is slow is not the client's fault: only backpressure from the client counts.
 */
import type { ServerResponse } from "node:http";
import { AbortedError } from "../blocks/index.ts";

/** Watches `res` until it finishes or closes; returns a function that stops watching early. */
export function dropStalledReader(res: ServerResponse, ms: number, onDrop: () => void): () => void {
  let backedUpSince: number | undefined;
  const check = (): void => {
    if (!res.writableNeedDrain) {
      backedUpSince = undefined;
      return;
    }
    const now = performance.now();
    backedUpSince ??= now;
    if (now - backedUpSince < ms) return;
    stop();
    onDrop();
    res.destroy(new AbortedError(`the client read nothing for ${ms / 1000} s`));
  };
  // A slow reader that drains now and then is making progress, however backed up it looks at a check.
  const drained = (): void => {
    backedUpSince = undefined;
  };
  const timer = setInterval(check, Math.max(10, Math.min(1000, ms / 4)));
  timer.unref();
  const stop = (): void => {
    clearInterval(timer);
    res.off("close", stop);
    res.off("drain", drained);
  };
  res.on("drain", drained);
  res.once("close", stop);
  return stop;
}
