/**
 * The metrics the engine reports, as a small sink the sidecar binds to prom-client (the engine creates
 * no registry of its own). CountingMetrics is the in-memory implementation for tests and benchmarks.
 */

/** Where served bytes came from: a source's kind, "cache", or "shared" (joined another fetch). */
export type ByteSource = string;

export interface BlockMetrics {
  /** Bytes handed out of the engine, by where they came from. */
  addBytes(source: ByteSource, bytes: number): void;
  /** One store lookup. */
  cacheLookup(hit: boolean): void;
  /** Blocks the store evicted. */
  evicted(count: number): void;
  /** Block fetches to sources in flight (holding a proxyFsParallels slot): +1 / -1. */
  inflight(delta: number): void;
  /** One error, by stable code (a source failure, a corrupt block, a failed stream). */
  error(code: string): void;
}

export const NOOP_METRICS: BlockMetrics = Object.freeze({
  addBytes() {},
  cacheLookup() {},
  evicted() {},
  inflight() {},
  error() {},
});

export class CountingMetrics implements BlockMetrics {
  readonly bytes = new Map<ByteSource, number>();
  readonly errors = new Map<string, number>();
  hits = 0;
  misses = 0;
  evictions = 0;
  inflightNow = 0;
  inflightPeak = 0;

  addBytes(source: ByteSource, bytes: number): void {
    this.bytes.set(source, (this.bytes.get(source) ?? 0) + bytes);
  }

  cacheLookup(hit: boolean): void {
    if (hit) this.hits++;
    else this.misses++;
  }

  evicted(count: number): void {
    this.evictions += count;
  }

  inflight(delta: number): void {
    this.inflightNow += delta;
    this.inflightPeak = Math.max(this.inflightPeak, this.inflightNow);
  }

  error(code: string): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }
}
