/**
 * Bandwidth-limited P2P benchmark: N real sidecar processes, each in its own network namespace on a
 * bridge this benchmark creates (test/support/peer/shaped-network.ts), each capped to the same
 * bandwidth each way (25 MB/s by default, a pod's order of magnitude on ECI), in front of an origin
 * capped the same in total. Each namespace runs a pull client to its own sidecar over its loopback
 * (bw-pull.ts), and all pulls start together. Unlike bench/p2p.ts, where peers talk over loopback far
 * faster than the origin, a peer here can upload only its share: an owner that every requester asks
 * for the same block at once shows as a slow pull.
 *
 * Per N: p50/p99 pull time against the lower bound (image / per-peer bandwidth: each peer must download
 * the whole image through its capped link), origin bytes / image, max and mean peer upload, sidecar CPU.
 * Nothing routes anywhere but the bridge's /24; every process is stopped by its PID and the network is
 * removed, also when the run fails. Needs root.
 *
 *   npm run bench -- p2p-bw [--json] [--ns 1,4,8,16,32] [--image-mib 128] [--layers 4] [--mbps 25]
 *                           [--cache-mib 128]
 *
 * Prints a table (or one JSON object per N) and writes bench/results/p2p-bw.json.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { splitLayers } from "../test/support/images/layers.ts";
import { pushImage } from "../test/support/images/push.ts";
import { makeTempDir, removeTempDir, spawnManaged } from "../test/support/origin/child-process.ts";
import { startOrigin, type Origin } from "../test/support/origin/origin-stack.ts";
import { sampleOrZero, startP2PGroup } from "../test/support/peer/p2p-group.ts";
import { createShapedNetwork, type ShapedNetwork } from "../test/support/peer/shaped-network.ts";
import { numberOption, optionValue } from "./cli-options.ts";
import { percentile } from "./stats.ts";
import { pullColumns, type ZonePullRow } from "./zone-pull.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/** Time the pull clients get to start before they all begin (node start-up, in parallel). */
const START_DELAY_MS = 3000;

export interface BandwidthOptions {
  readonly json: boolean;
  readonly ns: readonly number[];
  readonly imageMiB: number;
  readonly layers: number;
  /** Each peer's cap each way, and the origin's total, in MB/s (10^6 bytes). */
  readonly mbps: number;
  readonly cacheMiB: number;
}

export interface BandwidthRow extends ZonePullRow {
  readonly peerMBps: number;
  readonly sidecarCpuS: number;
  readonly sidecarCpuSPerGiB: number;
}

function parseOptions(argv: readonly string[]): BandwidthOptions {
  const positive = (flag: string, fallback: string): number => numberOption(argv, flag, fallback, 0, false);
  const ns = optionValue(argv, "--ns", "1,4,8,16,32").split(",").map(Number);
  if (ns.some((n) => !Number.isInteger(n) || n < 1 || n > 250)) {
    throw new Error(`--ns takes group sizes from 1 to 250, got ${optionValue(argv, "--ns", "")}`);
  }
  return {
    json: argv.includes("--json"),
    ns,
    imageMiB: positive("--image-mib", "128"),
    layers: positive("--layers", "4"),
    mbps: positive("--mbps", "25"),
    cacheMiB: positive("--cache-mib", "128"),
  };
}

const round = (x: number, f = 10): number => Math.round(x * f) / f;

/** Starts one pull client per namespace, all beginning at the same instant; resolves their times. */
async function pullAll(
  namespaces: readonly { name: string; ip: string }[],
  base: (ip: string) => string,
  repo: string,
  dir: string,
): Promise<number[]> {
  const startAt = Date.now() + START_DELAY_MS;
  const clients = namespaces.map((ns) =>
    spawnManaged(
      "ip",
      [
        "netns",
        "exec",
        ns.name,
        process.execPath,
        join(ROOT, "bench/bw-pull.ts"),
        base(ns.ip),
        repo,
        String(startAt),
      ],
      {
        logPath: join(dir, `pull-${ns.ip}.log`),
      },
    ),
  );
  try {
    return await Promise.all(
      clients.map(async (client) => {
        const { code } = await client.exited;
        const out = client.logTail();
        const line = out.split("\n").find((l) => l.startsWith("{"));
        if (code !== 0 || !line) throw new Error(`pull client failed (exit ${code}): ${out}`);
        return (JSON.parse(line) as { ms: number }).ms;
      }),
    );
  } finally {
    await Promise.all(clients.map((c) => c.stop()));
  }
}

async function runOnce(
  origin: Origin,
  network: ShapedNetwork,
  opts: BandwidthOptions,
  n: number,
  image: { repo: string; totalBytes: number },
): Promise<BandwidthRow> {
  const imageBytes = image.totalBytes;
  const repo = image.repo;
  while (network.peers.length < n) network.addPeer();
  const namespaces = network.peers.slice(0, n);
  const dir = makeTempDir("p2p-bw");
  try {
    const group = await startP2PGroup(origin, {
      size: n,
      namespaces,
      args: ["--option-block-size", String(opts.cacheMiB * MiB)],
    });
    try {
      origin.proxy.reset();
      const cpu0 = group.sidecars.map((s) => s.cpuSeconds());
      const times = await pullAll(
        namespaces,
        (ip) => `http://${ip}:${group.ports.front}${group.apiPrefix}`,
        repo,
        dir,
      );
      const cpu = group.sidecars.reduce((a, s, i) => a + s.cpuSeconds() - cpu0[i]!, 0);
      const texts = await Promise.all(group.sidecars.map((s) => s.metrics()));
      const uploads = texts.map((t) => sampleOrZero(t, "acr_p2p_peer_served_bytes_total") / MiB);
      const lowerBoundMs = (imageBytes / (opts.mbps * 1e6)) * 1000;
      const p99 = percentile(times, 99);
      return {
        n,
        imageBytes,
        peerMBps: opts.mbps,
        lowerBoundMs: Math.round(lowerBoundMs),
        p50Ms: Math.round(percentile(times, 50)),
        p99Ms: Math.round(p99),
        p99OverLowerBound: round(p99 / lowerBoundMs, 100),
        originOverImage: round(origin.proxy.bodyBytes() / imageBytes, 1000),
        peerUploadMiB: {
          max: round(Math.max(...uploads)),
          mean: round(uploads.reduce((a, b) => a + b, 0) / uploads.length),
        },
        sidecarCpuS: round(cpu),
        sidecarCpuSPerGiB: round(cpu / ((n * imageBytes) / GiB), 100),
      };
    } finally {
      await group.stop();
    }
  } finally {
    removeTempDir(dir);
  }
}

export interface BandwidthRun {
  readonly rows: BandwidthRow[];
  /** The image's blobs (config and layers), for the simulator's calibration (bench/sim/calibration.ts). */
  readonly blobs: { readonly digest: string; readonly size: number }[];
}

export async function benchBandwidth(opts: BandwidthOptions): Promise<BandwidthRun> {
  // One network for the whole run (namespaces are reused as N grows, with fresh sidecars); the
  // origin's proxy listens on the bridge, capped in total like one peer.
  const network = createShapedNetwork({ bytesPerSec: Math.round(opts.mbps * 1e6) });
  let origin: Origin | undefined;
  try {
    origin = await startOrigin({ auth: "none", bytesPerSec: opts.mbps * 1e6, proxyHost: network.hostIp });
    const image = await pushImage(origin.pushClient(), {
      repo: "team-a/p2p-bw",
      tag: "v1",
      layers: splitLayers(opts.imageMiB * MiB, opts.layers, "bench-p2p-bw"),
    });
    const rows: BandwidthRow[] = [];
    for (const n of opts.ns) {
      const row = await runOnce(origin, network, opts, n, image);
      if (opts.json) process.stdout.write(`${JSON.stringify(row)}\n`);
      else process.stderr.write(`N=${n}: p99 ${row.p99Ms} ms (${row.p99OverLowerBound}x the lower bound)\n`);
      rows.push(row);
    }
    const blobs = [image.config, ...image.layers].map(({ digest, size }) => ({ digest, size }));
    return { rows, blobs };
  } finally {
    await origin?.stop();
    network.remove();
  }
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const { rows, blobs } = await benchBandwidth(opts);
  const out = join(ROOT, "bench/results/p2p-bw.json");
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify({ node: process.version, options: opts, rows, blobs }, null, 2)}\n`);
  if (opts.json) return;
  console.table(
    rows.map((r) => ({
      N: r.n,
      ...pullColumns(r),
      "peer upload max MiB": r.peerUploadMiB.max,
      "peer upload mean MiB": r.peerUploadMiB.mean,
      "sidecar CPU s/GiB": r.sidecarCpuSPerGiB,
    })),
  );
  console.log(`wrote ${out}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
