/**
 * Drops a client that stopped reading: when the response has been backed up (the socket will not take
 * more) for `ms` without a drain, the response is destroyed. A stopped reader otherwise holds its
 * stream, its readahead and its connection's buffers for as long as it likes; the timeout is the
 * seed's transferTimeout, the same patience the sidecar gives a registry or a peer that sends nothing.
 * A source that is slow is not the client's fault: only backpressure from the client counts.
 */
import type { ServerResponse } from "node:http";
import { AbortedError } from "../blocks/index.ts";

export interface StalledReaderWatch {
  /** How long a response may stay backed up before it is dropped (transferTimeout). */
  readonly ms: number;
  /** A response was seen backed up (+1), or drained or closed after that (-1): clients not reading now. */
  backedUp(delta: 1 | -1): void;
  /** A response was dropped. */
  dropped(): void;
}

/** Watches `res` until it finishes or closes; returns a function that stops watching early. */
export function dropStalledReader(res: ServerResponse, watch: StalledReaderWatch): () => void {
  let backedUpSince: number | undefined;
  const notBackedUp = (): void => {
    if (backedUpSince === undefined) return;
    backedUpSince = undefined;
    watch.backedUp(-1);
  };
  const check = (): void => {
    if (!res.writableNeedDrain) return notBackedUp();
    const now = performance.now();
    if (backedUpSince === undefined) {
      backedUpSince = now;
      watch.backedUp(1);
    }
    if (now - backedUpSince < watch.ms) return;
    stop();
    watch.dropped();
    res.destroy(new AbortedError(`the client read nothing for ${watch.ms / 1000} s`));
  };
  // A slow reader that drains now and then is making progress, however backed up it looks at a check.
  const timer = setInterval(check, Math.max(10, Math.min(1000, watch.ms / 4)));
  timer.unref();
  const stop = (): void => {
    clearInterval(timer);
    notBackedUp();
    res.off("close", stop);
    res.off("drain", notBackedUp);
  };
  res.on("drain", notBackedUp);
  res.once("close", stop);
  return stop;
}
