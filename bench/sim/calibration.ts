/**
 * The simulator against a measured run of `npm run bench -- p2p-bw` (real sidecars in network
 * namespaces behind token buckets): the same image (its blobs' digests, so the same owners), the same
 * caps and cache and the sidecar's block tree, each N simulated and compared on p99 pull time and
 * origin bytes. The bar is 15% on both for every N up to 32.
 *
 * That machine runs every sidecar, pull client and the origin on two cores, and from N=8 at 25 MB/s
 * they, not the links, set the pace: the machine then moves 144-148 MB/s of blocks in all (N=16 and
 * N=32, 2026-12-06). The simulator models that as one link every flow crosses (HOST_MBPS); in a zone
 * every pod has its own CPU and the scale runs leave it out.
 */
import type { BandwidthOptions, BandwidthRow } from "../p2p-bw.ts";
import { BLOCK_TREE_FANOUT } from "../../sidecar/peer/peer-network.ts";
import { simulateImagePull } from "./image-pull.ts";

/** Block bytes per second the 2-core benchmark machine moves through all its sidecars at most. */
export const HOST_MBPS = 145;

/** The largest relative error the calibration accepts, on p99 and on origin bytes. */
export const CALIBRATION_TOLERANCE = 0.15;

export interface CalibrationRow {
  readonly n: number;
  readonly measuredP99Ms: number;
  readonly simulatedP99Ms: number;
  /** (simulated - measured) / measured. */
  readonly p99Error: number;
  readonly measuredOriginOverImage: number;
  readonly simulatedOriginOverImage: number;
  readonly originError: number;
}

export function calibrate(
  run: {
    readonly options: Pick<BandwidthOptions, "mbps" | "cacheMiB">;
    readonly rows: readonly BandwidthRow[];
    readonly blobs: readonly { readonly digest: string; readonly size: number }[];
  },
  hostMBps: number = HOST_MBPS,
): CalibrationRow[] {
  return run.rows.map((measured) => {
    const simulated = simulateImagePull({
      n: measured.n,
      imageMiB: 0,
      layers: 0,
      blobs: run.blobs,
      mbps: run.options.mbps,
      cacheMiB: run.options.cacheMiB,
      churn: 0,
      seed: 0,
      hostMBps,
      fanout: BLOCK_TREE_FANOUT,
    });
    const error = (sim: number, real: number) => Math.round(((sim - real) / real) * 1000) / 1000;
    return {
      n: measured.n,
      measuredP99Ms: measured.p99Ms,
      simulatedP99Ms: simulated.p99Ms,
      p99Error: error(simulated.p99Ms, measured.p99Ms),
      measuredOriginOverImage: measured.originOverImage,
      simulatedOriginOverImage: simulated.originOverImage,
      originError: error(simulated.originOverImage, measured.originOverImage),
    };
  });
}
