/**
 * A counting semaphore with FIFO waiters and abortable waits: proxyFsParallels bounds the block fetches
 * in flight across every stream of the engine.
 */
import { AbortedError } from "./errors.ts";

export type Release = () => void;

interface Waiter {
  readonly grant: (release: Release) => void;
}

export class Semaphore {
  readonly #permits: number;
  #inUse = 0;
  readonly #queue: Waiter[] = [];

  constructor(permits: number) {
    if (!Number.isSafeInteger(permits) || permits < 1) {
      throw new RangeError(`semaphore permits must be a positive integer, got ${permits}`);
    }
    this.#permits = permits;
  }

  get inUse(): number {
    return this.#inUse;
  }

  get waiting(): number {
    return this.#queue.length;
  }

  /** Resolves with a release function (idempotent) once a permit is free; rejects if `signal` fires. */
  acquire(signal?: AbortSignal): Promise<Release> {
    if (signal?.aborted) return Promise.reject(new AbortedError("aborted while waiting for a fetch slot"));
    if (this.#inUse < this.#permits) {
      this.#inUse++;
      return Promise.resolve(this.#releaser());
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const at = this.#queue.indexOf(waiter);
        if (at >= 0) this.#queue.splice(at, 1);
        reject(new AbortedError("aborted while waiting for a fetch slot"));
      };
      const waiter: Waiter = {
        grant: (release) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(release);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#queue.push(waiter);
    });
  }

  #releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#queue.shift();
      // The permit passes straight to the next waiter, so a newcomer cannot overtake the queue.
      if (next) next.grant(this.#releaser());
      else this.#inUse--;
    };
  }
}
