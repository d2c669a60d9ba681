/**
 * The zone simulator at any scale (bench/sim/zone-sim.ts): N peers pulling one image, each capped to
 * the same bandwidth each way, the origin capped the same in total (what `npm run bench -- p2p-bw`
 * measures with real sidecars up to N=32, on a machine too small for more), for two designs: every
 * peer asking a block's owner (before 2026-12-06) and the block tree the sidecar uses now. Per N: p50/p99
 * pull time against the lower bound (image / per-peer bandwidth), origin bytes / image, max and mean
 * peer upload; with `--churn`, the same with that share of peers leaving mid-pull and that share joining.
 *
 * With `--calibrate`, first the simulator against the last measured run (bench/results/p2p-bw.json:
 * same image, caps and N), as bench/sim/calibration.ts describes; it fails when an error passes 15%.
 *
 *   npm run bench -- p2p-sim [--json] [--ns 16,32,100,200,500,1000] [--image-mib 128] [--layers 4]
 *                            [--mbps 25] [--cache-mib 128] [--churn 0.05] [--seed 1] [--calibrate]
 *
 * Prints tables (or one JSON object per row) and writes bench/results/p2p-sim.json and p2p-sim.svg.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BandwidthOptions, BandwidthRow } from "./p2p-bw.ts";
import { calibrate, CALIBRATION_TOLERANCE, HOST_MBPS, type CalibrationRow } from "./sim/calibration.ts";
import { BLOCK_TREE_FANOUT } from "../sidecar/peer/peer-network.ts";
import { numberOption, optionValue } from "./cli-options.ts";
import { simulateImagePull, type ImagePullOptions, type SimRow } from "./sim/image-pull.ts";
import { renderSimChart } from "./sim/sim-chart.ts";
import { pullColumns } from "./zone-pull.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Before block trees every peer asked a block's owner; the sidecar now reads the ranking as a tree. */
const DESIGNS = [
  { name: "owner", options: {} },
  { name: `tree (fan-out ${BLOCK_TREE_FANOUT})`, options: { fanout: BLOCK_TREE_FANOUT } },
] as const;

interface Options extends Pick<
  ImagePullOptions,
  "imageMiB" | "layers" | "mbps" | "cacheMiB" | "churn" | "seed"
> {
  readonly json: boolean;
  readonly ns: readonly number[];
  readonly calibrate: boolean;
}

function parseOptions(argv: readonly string[]): Options {
  const number = (flag: string, fallback: string, min: number): number =>
    numberOption(argv, flag, fallback, min);
  const ns = optionValue(argv, "--ns", "16,32,100,200,500,1000").split(",").map(Number);
  if (ns.some((n) => !Number.isInteger(n) || n < 1 || n > 5000)) {
    throw new Error(`--ns takes group sizes from 1 to 5000, got ${optionValue(argv, "--ns", "")}`);
  }
  const churn = number("--churn", "0.05", 0);
  if (churn >= 0.5) throw new Error(`--churn is a share of the peers below 0.5, got ${churn}`);
  return {
    json: argv.includes("--json"),
    ns,
    imageMiB: number("--image-mib", "128", 1),
    layers: number("--layers", "4", 1),
    mbps: number("--mbps", "25", 0.001),
    cacheMiB: number("--cache-mib", "128", 1),
    churn,
    seed: number("--seed", "1", 0),
    calibrate: argv.includes("--calibrate"),
  };
}

/** The simulator against the last measured bandwidth run; undefined without --calibrate. */
async function calibration(opts: Options): Promise<CalibrationRow[] | undefined> {
  if (!opts.calibrate) return undefined;
  const file = join(ROOT, "bench/results/p2p-bw.json");
  const run = JSON.parse(await readFile(file, "utf8")) as {
    options: BandwidthOptions;
    rows: BandwidthRow[];
    blobs?: { digest: string; size: number }[];
  };
  if (run.blobs === undefined) throw new Error(`${file} has no "blobs": run npm run bench -- p2p-bw first`);
  const rows = calibrate({ options: run.options, rows: run.rows, blobs: run.blobs });
  if (opts.json) for (const row of rows) process.stdout.write(`${JSON.stringify({ calibration: row })}\n`);
  else {
    console.log(`simulator vs ${file} (${run.options.mbps} MB/s, host ${HOST_MBPS} MB/s):`);
    console.table(
      rows.map((r) => ({
        N: r.n,
        "measured p99 s": r.measuredP99Ms / 1000,
        "simulated p99 s": r.simulatedP99Ms / 1000,
        "p99 error": r.p99Error,
        "measured origin/image": r.measuredOriginOverImage,
        "simulated origin/image": r.simulatedOriginOverImage,
        "origin error": r.originError,
      })),
    );
  }
  return rows;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const calibrated = await calibration(opts);
  const rows: (SimRow & { design: string })[] = [];
  for (const n of opts.ns) {
    for (const design of DESIGNS) {
      for (const churn of opts.churn > 0 ? [0, opts.churn] : [0]) {
        // Churn of a share too small to move one peer of this N is no churn.
        if (churn > 0 && Math.floor(churn * n) === 0) continue;
        const row = { design: design.name, ...simulateImagePull({ ...opts, n, churn, ...design.options }) };
        if (opts.json) process.stdout.write(`${JSON.stringify(row)}\n`);
        else
          process.stderr.write(
            `${design.name} N=${n} churn ${churn}: p99 ${row.p99OverLowerBound}x the bound\n`,
          );
        rows.push(row);
      }
    }
  }
  const out = join(ROOT, "bench/results/p2p-sim.json");
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify({ options: opts, calibration: calibrated, rows }, null, 2)}\n`);
  const subtitle = `simulated: ${opts.imageMiB} MiB image, every peer and the origin at ${opts.mbps} MB/s each way`;
  await writeFile(join(dirname(out), "p2p-sim.svg"), renderSimChart(rows, subtitle));
  const off = (calibrated ?? []).filter(
    (r) => Math.abs(r.p99Error) > CALIBRATION_TOLERANCE || Math.abs(r.originError) > CALIBRATION_TOLERANCE,
  );
  if (off.length > 0) {
    process.stderr.write(`calibration off by more than 15% at N=${off.map((r) => r.n).join(", ")}\n`);
    process.exitCode = 1;
  }
  if (opts.json) return;
  console.table(
    rows.map((r) => ({
      design: r.design,
      N: r.n,
      churn: r.churn,
      ...pullColumns(r),
      "upload max/mean": r.uploadMaxOverMean,
      incomplete: r.incomplete,
      "sim s": r.wallS,
    })),
  );
  console.log(`wrote ${out} and p2p-sim.svg`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
