/**
 * One simulated zone pull of an image shaped like the benchmarks' (a small config blob and `layers`
 * equal layers), with the sidecar's own defaults for everything the user does not set: block size,
 * readahead and its engine-wide budget, fetch slots. The round-trip times are what `npm run bench --
 * p2p-bw` measures on its bridge (see docs/p2p.md, "Simulated"); the row has the same measures as that
 * benchmark's.
 */
import { createHash } from "node:crypto";
import { SIDECAR_MEMORY_BUDGET } from "../../lib/sidecar-memory.ts";
import { sidecarOption } from "../../contract/sidecar-options.ts";
import { defaultReadaheadBlocks, type BlobDescriptor } from "../../sidecar/blocks/index.ts";
import { fetchSlots } from "../../sidecar/memory/fetch-slots.ts";
import { percentile } from "../stats.ts";
import type { ZonePullRow } from "../zone-pull.ts";
import { simulateZone, type ZoneSimOptions } from "./zone-sim.ts";

const MiB = 1024 * 1024;
const CONFIG_BYTES = 1024;
/**
 * Block bytes per byte a capped link carries: a token bucket counts whole frames, and a full TCP
 * segment carries 1448 bytes in 1514 (Ethernet, IPv4 and TCP headers with timestamps).
 */
export const WIRE_PAYLOAD_SHARE = 1448 / 1514;

export interface ImagePullOptions {
  readonly n: number;
  readonly imageMiB: number;
  readonly layers: number;
  /** Each peer's cap each way, and the origin's total, MB/s (10^6 bytes). */
  readonly mbps: number;
  readonly cacheMiB: number;
  /** Share of the peers that leave and that join during the pull (0: none). */
  readonly churn: number;
  readonly seed: number;
  /** Total MB/s one machine's CPU can move through every peer (the 2-core benchmark host); default none. */
  readonly hostMBps?: number;
  /** The image's blobs, instead of `layers` equal ones named by `seed` (a measured run's image). */
  readonly blobs?: readonly BlobDescriptor[];
  /** The block tree's fan-out; undefined: every peer asks the owner. */
  readonly fanout?: number;
  /** Overrides of the model's timing (calibration). */
  readonly timing?: Partial<Pick<ZoneSimOptions, "peerRequestS" | "originRequestS" | "pullStartS" | "stepS">>;
}

export interface SimRow extends ZonePullRow {
  readonly churn: number;
  readonly uploadMaxOverMean: number;
  /** Peers that stayed and did not finish (0 when every pull completed). */
  readonly incomplete: number;
  readonly left: number;
  readonly joined: number;
  /** Wall-clock seconds the simulation took. */
  readonly wallS: number;
}

/** The default timing: round trips on the benchmark's bridge, and the pull's start (manifest, HEADs). */
export const SIM_TIMING = Object.freeze({
  peerRequestS: 0.002,
  originRequestS: 0.004,
  pullStartS: 0.05,
  stepS: 0.002,
});

export function imageBlobs(imageBytes: number, layers: number, seed: number): BlobDescriptor[] {
  const digest = (i: number) => `sha256:${createHash("sha256").update(`p2p-sim/${seed}/${i}`).digest("hex")}`;
  const layerBytes = Math.floor(imageBytes / layers);
  return [
    { digest: digest(0), size: CONFIG_BYTES },
    ...Array.from({ length: layers }, (_, i) => ({ digest: digest(i + 1), size: layerBytes })),
  ];
}

export function simulateImagePull(opts: ImagePullOptions): SimRow {
  const blockSizeBytes = Number(sidecarOption("blocksizeKiB").default) * 1024;
  const { slots } = fetchSlots(Number(sidecarOption("proxyFsParallels").default), blockSizeBytes);
  const blobs = opts.blobs ?? imageBlobs(opts.imageMiB * MiB, opts.layers, opts.seed);
  const imageBytes = blobs.reduce((a, b) => a + b.size, 0);
  const bytesPerSec = opts.mbps * 1e6;
  const lowerBoundS = imageBytes / bytesPerSec;
  const started = performance.now();
  const result = simulateZone({
    n: opts.n,
    blobs,
    blockSizeBytes,
    peerBytesPerSec: bytesPerSec * WIRE_PAYLOAD_SHARE,
    originBytesPerSec: bytesPerSec,
    ...SIM_TIMING,
    ...opts.timing,
    cacheBytes: opts.cacheMiB * MiB,
    readaheadBlocks: defaultReadaheadBlocks(blockSizeBytes),
    readaheadBudgetBlocks: Math.floor(SIDECAR_MEMORY_BUDGET.streamBlockBytes / blockSizeBytes),
    slots,
    ...(opts.hostMBps !== undefined && { hostBytesPerSec: opts.hostMBps * 1e6 }),
    ...(opts.churn > 0 && {
      churn: { leave: opts.churn, join: opts.churn, windowS: lowerBoundS, seed: opts.seed },
    }),
    viewLagS: 1,
    ...(opts.fanout !== undefined && { fanout: opts.fanout }),
  });
  const round = (x: number, f = 10): number => Math.round(x * f) / f;
  const uploads = result.uploads.map((b) => b / MiB);
  const mean = uploads.reduce((a, b) => a + b, 0) / Math.max(1, uploads.length);
  const max = Math.max(0, ...uploads);
  const p99 = percentile(result.pulls, 99);
  return {
    n: opts.n,
    churn: opts.churn,
    imageBytes,
    lowerBoundMs: Math.round(lowerBoundS * 1000),
    p50Ms: Math.round(percentile(result.pulls, 50) * 1000),
    p99Ms: Math.round(p99 * 1000),
    p99OverLowerBound: round(p99 / lowerBoundS, 100),
    originOverImage: round(result.originBytes / imageBytes, 1000),
    peerUploadMiB: { max: round(max), mean: round(mean) },
    uploadMaxOverMean: mean > 0 ? round(max / mean, 100) : 0,
    incomplete: result.incomplete,
    left: result.left,
    joined: result.joined,
    wallS: round((performance.now() - started) / 1000, 100),
  };
}
