/**
 * Startup benchmark: what every injected pod pays before its first pull. In one run:
 *
 * - bare node:      `node -e` with a plain HTTP server answering /readyz (the floor);
 * - sidecar source: `node bin/acr-p2p.ts sidecar` (TypeScript sources and node_modules);
 * - sidecar bundle: `node sidecar.mjs sidecar`, the bundle the sidecar image runs (hack/images/bundle.ts).
 *
 * Each is started STARTS times: time from exec to the first /readyz 200 (p50, p90), and for the first
 * RSS_STARTS of them the RSS 3 s after ready with no traffic (median). The sidecars run with the image's
 * Node flags and a registry address nothing listens on (nothing is pulled).
 * Then each image's size, compressed (what a node pulls) and uncompressed, from `npm run images`' build.
 * Targets (issue "npm run images"): sidecar bundle ready <= 200 ms p50, idle RSS <= 60 MB, sidecar
 * image <= 50 MB compressed.
 *
 * Run: `npm run bench -- startup` (prints a table, writes bench/results/startup.json).
 */
import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildImages } from "../hack/images/build-images.ts";
import { bundle } from "../hack/images/bundle.ts";
import { SIDECAR_ENV, SIDECAR_NODE_FLAGS } from "../sidecar/node-flags.ts";
import { percentile } from "./stats.ts";
import { freePort, makeTempDir, spawnManaged } from "../test/support/origin/child-process.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const STARTS = 20;
const RSS_STARTS = 5;
const IDLE_MS = 3000;
const MB = 1e6;

interface Variant {
  readonly name: string;
  /** Env beyond the bench's own (the sidecar image's SIDECAR_ENV). */
  readonly env?: Readonly<Record<string, string>>;
  args(port: number, healthPort: number): string[];
}

const BARE_SERVER =
  'require("node:http").createServer((q,s)=>s.end("ok")).listen(Number(process.argv[1]),"127.0.0.1")';

function sidecarVariant(name: string, entry: string): Variant {
  return {
    name,
    env: SIDECAR_ENV,
    args: (port, healthPort) => [
      ...SIDECAR_NODE_FLAGS,
      entry,
      "sidecar",
      "--upstream-host",
      "127.0.0.1:9",
      "--plain-http-upstream",
      "127.0.0.1:9",
      "--port",
      String(port),
      "--health-port",
      String(healthPort),
      "--log-level",
      "warn",
    ],
  };
}

function readyz(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path: "/readyz" }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.end();
  });
}

function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB$/m);
  if (!line) throw new Error(`no VmRSS for ${pid}`);
  return Number(line[1]) * 1024;
}

async function startOnce(
  variant: Variant,
  logDir: string,
  measureRss: boolean,
): Promise<{ readyMs: number; rss?: number }> {
  const port = await freePort();
  const healthPort = await freePort();
  const started = performance.now();
  const proc = spawnManaged(process.execPath, variant.args(port, healthPort), {
    logPath: join(logDir, `${variant.name.replaceAll(" ", "-")}.log`),
    env: { ...process.env, ...variant.env },
  });
  try {
    for (;;) {
      if (!proc.running) throw new Error(`${variant.name} exited: ${proc.logTail()}`);
      if (await readyz(healthPort)) break;
      if (performance.now() - started > 30_000) throw new Error(`${variant.name} not ready in 30 s`);
      await new Promise((r) => setTimeout(r, 2));
    }
    const readyMs = performance.now() - started;
    if (!measureRss) return { readyMs };
    await new Promise((r) => setTimeout(r, IDLE_MS));
    return { readyMs, rss: rssBytes(proc.child.pid!) };
  } finally {
    await proc.stop();
  }
}

export interface StartupRow {
  readonly variant: string;
  readonly readyP50Ms: number;
  readonly readyP90Ms: number;
  readonly idleRssMB: number;
}

export interface ImageSizeRow {
  readonly image: string;
  readonly compressedMB: number;
  readonly uncompressedMB: number;
  readonly layersMB: string;
}

async function imageSizes(dir: string): Promise<ImageSizeRow[]> {
  const images = await buildImages({ out: join(dir, "images") });
  const mb = (bytes: number) => Math.round(bytes / 100_000) / 10;
  return images.map((image) => ({
    image: image.name,
    compressedMB: mb(image.layers.reduce((sum, l) => sum + l.size, 0)),
    uncompressedMB: mb(image.layers.reduce((sum, l) => sum + l.uncompressedSize, 0)),
    layersMB: image.layers.map((l) => mb(l.size)).join(" + "),
  }));
}

export async function benchStartup(): Promise<{ rows: StartupRow[]; images: ImageSizeRow[]; pass: boolean }> {
  const dir = makeTempDir("bench-startup");
  const made = await bundle("sidecar", dir);
  const variants: Variant[] = [
    { name: "bare node", args: (_port, healthPort) => ["-e", BARE_SERVER, String(healthPort)] },
    sidecarVariant("sidecar source", join(ROOT, "bin/acr-p2p.ts")),
    sidecarVariant("sidecar bundle", made.file),
  ];
  const rows: StartupRow[] = [];
  for (const variant of variants) {
    const ready: number[] = [];
    const rss: number[] = [];
    for (let i = 0; i < STARTS; i++) {
      const run = await startOnce(variant, dir, i < RSS_STARTS);
      ready.push(run.readyMs);
      if (run.rss !== undefined) rss.push(run.rss);
    }
    rows.push({
      variant: variant.name,
      readyP50Ms: Math.round(percentile(ready, 50)),
      readyP90Ms: Math.round(percentile(ready, 90)),
      idleRssMB: Math.round(percentile(rss, 50) / MB),
    });
  }
  const bundled = rows.find((r) => r.variant === "sidecar bundle")!;
  const images = await imageSizes(dir);
  const sidecarImage = images.find((i) => i.image === "sidecar")!;
  return {
    rows,
    images,
    pass: bundled.readyP50Ms <= 200 && bundled.idleRssMB <= 60 && sidecarImage.compressedMB <= 50,
  };
}

async function main(): Promise<void> {
  const result = await benchStartup();
  console.table(result.rows);
  console.table(result.images);
  console.log(
    `sidecar: ready <= 200 ms p50, idle RSS <= 60 MB, image <= 50 MB compressed: ${result.pass ? "PASS" : "MISS"}`,
  );
  const out = join(ROOT, "bench", "results", "startup.json");
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, JSON.stringify(result, null, 2) + "\n");
  console.log(`wrote ${out}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
