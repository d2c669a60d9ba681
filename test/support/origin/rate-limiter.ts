/**
 * One send-rate cap shared by every connection of a proxy: a single virtual clock on which each
 * chunk reserves its slot in call order, so N connections together get the rate, not N times it.
 *
 *   new SharedRateLimiter(bytesPerSec | null)   null = unlimited
 *   limiter.take(bytes)                         resolves when those bytes may be sent
 *   limiter.bytesPerSec = n                     change the cap at runtime
 *
 * No idle credit: a sender that was idle does not get to burst. The only slack is SLACK_MS (a burst
 * of at most 10 ms worth of the rate), which absorbs timer and event-loop lateness (setTimeout fires
 * >= 1 ms late): with 2 ms, a 100 MB/s cap delivered 95 MB/s; with 10 ms, 99 MB/s.
 */
import { setTimeout as sleep } from "node:timers/promises";

const SLACK_MS = 10;

export class SharedRateLimiter {
  bytesPerSec: number | null;
  #next = 0;

  constructor(bytesPerSec: number | null) {
    this.bytesPerSec = bytesPerSec;
  }

  async take(bytes: number): Promise<void> {
    const rate = this.bytesPerSec;
    if (!rate) return;
    const now = performance.now();
    const start = Math.max(this.#next, now - SLACK_MS);
    this.#next = start + (bytes * 1000) / rate;
    if (start > now) await sleep(start - now);
  }
}
