/**
 * `npm run demo`: the project's job on one machine. A token-auth origin registry (Debian's
 * docker-registry) behind a byte-counting, rate-limited front; a generated image pushed to it; N
 * sidecars in one peer group (real processes on 127.0.0.2, .3, ...), each pulled through by skopeo as
 * a pod's runtime would; then the same N pulls straight from the origin. The table at the end says, per
 * pod, how long the pull took and where its bytes came from, and what the origin sent in each run.
 *
 * Every process it starts dies with it (Ctrl-C included) and its temp dirs go (test/support/origin's
 * child-process rig: setpriv --pdeathsig, an exit hook).
 */
import { mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { encodeHostForPath } from "../contract/registry-host.ts";
import { splitLayers } from "../test/support/images/layers.ts";
import { pushImage } from "../test/support/images/push.ts";
import { makeTempDir, removeTempDir } from "../test/support/origin/child-process.ts";
import { startOrigin, type Origin } from "../test/support/origin/origin-stack.ts";
import { sampleOrZero, startP2PGroup, type P2PGroup } from "../test/support/peer/p2p-group.ts";
import { skopeoCopy } from "../test/support/pull-clients/skopeo.ts";
import { parseDemoOptions, USAGE, UsageError, type DemoOptions } from "./options.ts";
import { ensurePackages, MissingPackagesError } from "./prerequisites.ts";
import { ProgressBoard, type PodProgress } from "./progress.ts";
import { renderSvg, renderTable, type DemoReport, type PodResult, type RunResult } from "./report.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const REPO = "team-a/demo";
const USER = "alice";
const PASSWORD = "alice-pw";
const MiB = 2 ** 20;

const log = (line: string) => process.stdout.write(`${line}\n`);

/** One pod's pull: skopeo copying the image to a directory; its size there is what the pod has so far. */
interface Puller {
  readonly name: string;
  readonly source: string;
  /** The pod's sidecar metrics, for where its bytes came from (none for a direct pull). */
  readonly metrics?: () => Promise<string>;
}

function dirBytes(dir: string): number {
  try {
    return readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
  } catch {
    return 0;
  }
}

/**
 * What the pod's sidecar downloaded, by source: from the origin (the blocks it owns in the group, and
 * any a peer could not give) and from its peers. Its engine also counts blocks it handed its peers
 * (from its cache), which are not this pod's download, so those are left out.
 */
async function sourcesOf(puller: Puller): Promise<Record<string, number>> {
  if (!puller.metrics) return {};
  const text = await puller.metrics().catch(() => "");
  const bytes = (source: string) => sampleOrZero(text, "acr_p2p_block_bytes_total", `{source="${source}"}`);
  return { origin: bytes("origin"), peers: bytes("peer") };
}

/** Runs every pull at once, drawing progress, and resolves with each pod's time and sources. */
async function pullAll(
  pullers: readonly Puller[],
  opts: DemoOptions,
  imageBytes: number,
): Promise<PodResult[]> {
  const board = new ProgressBoard(process.stdout, imageBytes);
  const started = performance.now();
  const state = pullers.map((p) => ({ puller: p, dir: makeTempDir("demo-pull"), seconds: 0, done: false }));
  const timeoutMs =
    300_000 + (opts.originBytesPerSec ? (3000 * imageBytes * pullers.length) / opts.originBytesPerSec : 0);
  const draw = async () => {
    const rows: PodProgress[] = [];
    for (const s of state) {
      rows.push({
        name: s.puller.name,
        bytes: s.done ? imageBytes : Math.min(imageBytes, dirBytes(join(s.dir, "image"))),
        from: await sourcesOf(s.puller),
        seconds: s.done ? s.seconds : (performance.now() - started) / 1000,
        done: s.done,
      });
    }
    board.update(rows);
  };
  const ticker = setInterval(() => void draw(), 250);
  try {
    await Promise.all(
      state.map(async (s) => {
        const res = await skopeoCopy(s.puller.source, join(s.dir, "image"), {
          creds: `${USER}:${PASSWORD}`,
          timeoutMs,
        });
        if (res.run.code !== 0)
          throw new Error(`${s.puller.name}: skopeo copy failed: ${res.run.stderr.trim()}`);
        s.seconds = (performance.now() - started) / 1000;
        s.done = true;
        removeTempDir(s.dir);
      }),
    );
  } finally {
    clearInterval(ticker);
  }
  await draw();
  board.finish();
  const results: PodResult[] = [];
  for (const s of state) {
    const from = await sourcesOf(s.puller);
    const originBytes = s.puller.metrics ? (from.origin ?? 0) : imageBytes;
    const peerBytes = from.peers ?? 0;
    results.push({
      name: s.puller.name,
      seconds: s.seconds,
      originBytes,
      peerBytes,
      // What the pod's client got beyond what its sidecar downloaded came from the sidecar's cache.
      cacheBytes: Math.max(0, imageBytes - originBytes - peerBytes),
    });
  }
  return results;
}

async function runP2P(
  origin: Origin,
  group: P2PGroup,
  opts: DemoOptions,
  imageBytes: number,
): Promise<RunResult> {
  origin.proxy.reset();
  const pods = await pullAll(
    group.sidecars.map((s, i) => ({
      name: `pod-${i + 1}`,
      source: `${s.ip}:${group.ports.front}/${encodeHostForPath(origin.proxy.host)}/${REPO}:v1`,
      metrics: () => s.metrics(),
    })),
    opts,
    imageBytes,
  );
  return { pods, originSentBytes: origin.proxy.bodyBytes() };
}

async function runDirect(origin: Origin, opts: DemoOptions, imageBytes: number): Promise<RunResult> {
  origin.proxy.reset();
  const pods = await pullAll(
    Array.from({ length: opts.pods }, (_, i) => ({
      name: `pod-${i + 1}`,
      source: `${origin.proxy.host}/${REPO}:v1`,
    })),
    opts,
    imageBytes,
  );
  return { pods, originSentBytes: origin.proxy.bodyBytes() };
}

function keepInstructions(origin: Origin, group: P2PGroup): string {
  const first = group.sidecars[0]!;
  const ref = `${first.ip}:${group.ports.front}/${encodeHostForPath(origin.proxy.host)}/${REPO}:v1`;
  return [
    "",
    "Still running (Ctrl-C stops everything):",
    `  origin registry  ${origin.proxy.url} (token auth: ${USER} / ${PASSWORD}; counted and rate-limited)`,
    `  sidecars         ${group.sidecars.map((s) => `${s.ip}:${group.ports.front}`).join(" ")}`,
    "Pull through a sidecar by hand:",
    `  skopeo copy --src-creds ${USER}:${PASSWORD} --src-tls-verify=false docker://${ref} dir:/tmp/demo-image`,
    "What a sidecar did:",
    `  curl -s ${first.healthUrl}/metrics | grep -E '^acr_p2p_(block_bytes|served_bytes)_total'`,
    "",
  ].join("\n");
}

async function demo(opts: DemoOptions, cleanups: Array<() => Promise<void>>): Promise<void> {
  const rate =
    opts.originBytesPerSec === null ? "unlimited" : `${(opts.originBytesPerSec / 1e6).toFixed(0)} MB/s`;
  log(`origin: token-auth registry behind a counting front (${rate})`);
  const origin = await startOrigin({ bytesPerSec: opts.originBytesPerSec });
  cleanups.push(() => origin.stop());
  const image = await pushImage(origin.pushClient(), {
    repo: REPO,
    tag: "v1",
    layers: splitLayers(opts.sizeBytes, opts.layers, "demo"),
  });
  log(`pushed ${REPO}:v1: ${opts.layers} layers, ${(image.totalBytes / MiB).toFixed(0)} MiB`);
  log(`starting ${opts.pods} sidecars in one peer group (127.0.0.2 ...)`);
  const group = await startP2PGroup(origin, { size: opts.pods });
  cleanups.push(() => group.stop());

  log(`\n1. ${opts.pods} pods pull through their sidecars`);
  const p2p = await runP2P(origin, group, opts, image.totalBytes);
  log(`\n2. the same ${opts.pods} pulls straight from the origin`);
  const direct = await runDirect(origin, opts, image.totalBytes);

  const report: DemoReport = {
    imageBytes: image.totalBytes,
    layers: opts.layers,
    originBytesPerSec: opts.originBytesPerSec,
    p2p,
    direct,
  };
  mkdirSync(opts.out, { recursive: true });
  const json = join(opts.out, "demo.json");
  const svg = join(opts.out, "demo.svg");
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(svg, renderSvg(report));
  log(`\n${renderTable(report)}`);
  log(`chart: ${svg}\nnumbers: ${json}`);
  if (opts.keep) {
    log(keepInstructions(origin, group));
    await new Promise<never>(() => undefined);
  }
}

async function main(argv: string[]): Promise<number> {
  let opts;
  try {
    opts = parseDemoOptions(argv, join(ROOT, ".cache/demo"));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`demo: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if ("help" in opts) {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    ensurePackages(log);
  } catch (err) {
    if (!(err instanceof MissingPackagesError)) throw err;
    process.stderr.write(`demo: ${err.message}\n`);
    return 1;
  }
  const cleanups: Array<() => Promise<void>> = [];
  const cleanUp = async () => {
    for (const stop of cleanups.splice(0).reverse()) await stop().catch(() => undefined);
  };
  let stopping = false;
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    process.on(signal, () => {
      // A second Ctrl-C does not wait: the exit hook kills what is left.
      if (stopping) process.exit(code);
      stopping = true;
      process.stderr.write(`\ndemo: ${signal}: stopping every process and removing temp dirs\n`);
      void cleanUp().finally(() => process.exit(code));
    });
  }
  try {
    await demo({ ...opts, out: resolve(opts.out) }, cleanups);
    return 0;
  } finally {
    await cleanUp();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
