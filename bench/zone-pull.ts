/** What a zone's pull reports per N, measured (bench/p2p-bw.ts) or simulated (bench/sim/image-pull.ts). */
export interface ZonePullRow {
  readonly n: number;
  readonly imageBytes: number;
  /** image / per-peer bandwidth: no pull can be faster. */
  readonly lowerBoundMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p99OverLowerBound: number;
  readonly originOverImage: number;
  /** What each peer sent the others, MiB: the largest and the mean (a hot spot shows as max >> mean). */
  readonly peerUploadMiB: { readonly max: number; readonly mean: number };
}

/** The columns both benchmarks print for a row (console.table). */
export function pullColumns(r: ZonePullRow): Record<string, number> {
  return {
    "lower bound s": r.lowerBoundMs / 1000,
    "p50 s": r.p50Ms / 1000,
    "p99 s": r.p99Ms / 1000,
    "p99 / bound": r.p99OverLowerBound,
    "origin/image": r.originOverImage,
  };
}
