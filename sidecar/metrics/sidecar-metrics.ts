/**
 * The sidecar's Prometheus metrics, in a registry of its own (never prom-client's global default, so
 * two sidecars in one test process do not share counters). Served on the health port at /metrics.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { registerBuildInfo } from "../../lib/build-info.ts";
import type { BlockMetrics, BlockPoolStats } from "../blocks/index.ts";

export interface CacheStats {
  readonly bytes: number;
  readonly capacityBytes: number;
  readonly blocks: number;
}

export class SidecarMetrics {
  readonly registry = new Registry();
  readonly bytes: Counter<"source">;
  readonly servedBytes: Counter<"kind">;
  readonly cacheHits: Counter;
  readonly cacheMisses: Counter;
  readonly cacheEvictions: Counter;
  readonly inFlight: Gauge<"kind">;
  readonly blockFetchesInFlight: Gauge;
  readonly errors: Counter<"code">;
  readonly stalledReaders: Counter;
  readonly backedUpReaders: Gauge;
  readonly memoryReclaims: Counter;
  readonly blockErrors: Counter<"code">;
  readonly requestSeconds: Histogram<"kind" | "method" | "status">;
  #cacheStats: (() => CacheStats) | undefined;
  #bufferStats: (() => BlockPoolStats) | undefined;

  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.bytes = new Counter({
      name: "acr_p2p_block_bytes_total",
      help: "Blob bytes the block engine handed out, by where they came from (origin, peer, cache, shared: joined another fetch).",
      labelNames: ["source"],
      registers,
    });
    this.servedBytes = new Counter({
      name: "acr_p2p_served_bytes_total",
      help: "Bytes sent to pull clients by the registry front, by request kind.",
      labelNames: ["kind"],
      registers,
    });
    this.cacheHits = new Counter({
      name: "acr_p2p_cache_hits_total",
      help: "Blocks served from the cache.",
      registers,
    });
    this.cacheMisses = new Counter({
      name: "acr_p2p_cache_misses_total",
      help: "Blocks not in the cache.",
      registers,
    });
    this.cacheEvictions = new Counter({
      name: "acr_p2p_cache_evictions_total",
      help: "Blocks evicted to stay under the cap.",
      registers,
    });
    this.inFlight = new Gauge({
      name: "acr_p2p_requests_in_flight",
      help: "Registry front requests being served.",
      labelNames: ["kind"],
      registers,
    });
    this.blockFetchesInFlight = new Gauge({
      name: "acr_p2p_block_fetches_in_flight",
      help: "Block fetches to the origin or peers in flight (bounded by proxyFsParallels).",
      registers,
    });
    this.blockErrors = new Counter({
      name: "acr_p2p_block_errors_total",
      help: "Block engine errors (source failures, corrupt blocks, failed streams), by code.",
      labelNames: ["code"],
      registers,
    });
    this.stalledReaders = new Counter({
      name: "acr_p2p_stalled_readers_dropped_total",
      help: "Blob responses dropped because the client read nothing for transferTimeout.",
      registers,
    });
    this.backedUpReaders = new Gauge({
      name: "acr_p2p_readers_backed_up",
      help: "Blob responses whose client is not reading now (dropped after transferTimeout); they hold no fetch slot.",
      registers,
    });
    this.memoryReclaims = new Counter({
      name: "acr_p2p_memory_reclaims_total",
      help: "Full garbage collections asked for after dropped blocks reached their share of the memory budget.",
      registers,
    });
    this.errors = new Counter({
      name: "acr_p2p_errors_total",
      help: "Error answers of the registry front, by OCI error code.",
      labelNames: ["code"],
      registers,
    });
    this.requestSeconds = new Histogram({
      name: "acr_p2p_request_duration_seconds",
      help: "Registry front request latency (until the last byte was handed to the socket).",
      labelNames: ["kind", "method", "status"],
      buckets: [0.005, 0.025, 0.1, 0.5, 1, 2.5, 10, 30, 120],
      registers,
    });
    registerBuildInfo(this.registry, "sidecar");
    const self = this;
    new Gauge({
      name: "acr_p2p_cache_bytes",
      help: "Bytes held by the block cache.",
      registers,
      collect() {
        if (self.#cacheStats) this.set(self.#cacheStats().bytes);
      },
    });
    const counted = { allocated: 0, reused: 0 };
    new Counter({
      name: "acr_p2p_block_buffers_total",
      help: "Block buffers the memory cache's pool handed out: allocated new, or reused after a dropped block.",
      labelNames: ["how"],
      registers,
      collect() {
        const stats = self.#bufferStats?.();
        if (!stats) return;
        for (const how of ["allocated", "reused"] as const) {
          this.inc({ how }, stats[how] - counted[how]);
          counted[how] = stats[how];
        }
      },
    });
    new Gauge({
      name: "acr_p2p_cache_capacity_bytes",
      help: "The block cache's hard cap.",
      registers,
      collect() {
        if (self.#cacheStats) this.set(self.#cacheStats().capacityBytes);
      },
    });
  }

  /** The sink the block engine reports into. */
  blockMetrics(): BlockMetrics {
    return {
      addBytes: (source, bytes) => this.bytes.inc({ source }, bytes),
      cacheLookup: (hit) => (hit ? this.cacheHits.inc() : this.cacheMisses.inc()),
      evicted: (count) => this.cacheEvictions.inc(count),
      inflight: (delta) => this.blockFetchesInFlight.inc(delta),
      error: (code) => this.blockErrors.inc({ code }),
    };
  }

  /** Lets the cache gauges read the block store at scrape time. */
  observeCache(stats: () => CacheStats): void {
    this.#cacheStats = stats;
  }

  /** Lets the block buffer counter read the pool at scrape time (memory mode). */
  observeBlockBuffers(stats: () => BlockPoolStats): void {
    this.#bufferStats = stats;
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
