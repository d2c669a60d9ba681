/**
 * The sidecar's memory is bounded by what has arrived, in a real sidecar process: what a registry
 * announces costs nothing until its bytes come.
 */
import { expect } from "chai";
import { encodeHostForPath } from "../../../contract/registry-host.ts";
import { startLyingRegistry, type LyingRegistry } from "../../support/origin/lying-registry.ts";
import type { PushedImage } from "../../support/images/push.ts";
import { waitUntil } from "../../support/origin/child-process.ts";
import { startOrigin, type Origin } from "../../support/origin/origin-stack.ts";
import { startOriginWithImage } from "../../support/origin/origin-with-image.ts";
import { startPausedClients, type PausedClients } from "../../support/pull-clients/paused-clients.ts";
import { metricValue, startChildSidecar, type ChildSidecar } from "./child-sidecar.ts";
import { ALICE, get, ociCodes, pullDiscarding } from "./sidecar-harness.ts";
import { SIDECAR_WORKING_MARGIN_BYTES } from "../../../lib/sidecar-memory.ts";

const MiB = 1024 * 1024;
const CAP = 32 * MiB;
/** The sidecar's default blocksize (these sidecars do not set one). */
const BLOCK_BYTES = 256 * 1024;
/** Scarce fetch slots: what paused clients could hold (the harness sets transferTimeout to 3 s). */
const SIDECAR_ARGS = ["--proxy-fs-parallels", "16"];
/** Long enough that no paused client is dropped before the pull beside them has run on a busy machine. */
const PAUSED_PATIENCE_S = 10;

describe("sidecar process: memory bounded by what arrived", function () {
  this.timeout(120_000);
  let origin: Origin | undefined;
  let liar: LyingRegistry | undefined;
  let side: ChildSidecar | undefined;

  before(async () => {
    origin = await startOrigin();
    liar = await startLyingRegistry({ blobSize: 2 ** 44 });
    side = await startChildSidecar(origin, [
      "--upstream-host",
      liar.host,
      "--plain-http-upstream",
      liar.host,
    ]);
  });
  after(async () => {
    await side?.stop();
    await liar?.close();
    await origin?.stop();
  });

  it("announced size: a registry announcing a 2^44-byte blob gets the client a 502, the sidecar stays up and barely grows", async () => {
    const url = `${side!.url}/v2/${encodeHostForPath(liar!.host)}/evil/app/blobs/sha256:${"1".repeat(64)}`;
    // The first requests load and compile the request path and fill the young generation: measure
    // from after them.
    for (let i = 0; i < 20; i++) await get(url, { method: i % 2 ? "HEAD" : "GET" });
    const before = side!.rssBytes();
    for (let i = 0; i < 5; i++) {
      for (const method of ["GET", "HEAD"]) {
        const res = await get(url, { method });
        expect(res.status, method).to.equal(502);
        if (method === "GET") {
          expect(ociCodes(res.body)).to.deep.equal(["UPSTREAM_ERROR"]);
          expect(res.body.toString()).to.include("--max-blob-size-gb");
        }
      }
    }
    const grown = side!.rssBytes() - before;
    console.log(`      RSS grew ${(grown / MiB).toFixed(1)} MiB over 10 requests`);
    expect(grown).to.be.below(16 * MiB);
    expect((await fetch(`${side!.healthUrl}/healthz`)).status).to.equal(200);
  });
});

describe("sidecar process: clients that stop reading hold nothing others need", function () {
  this.timeout(300_000);
  let origin: Origin | undefined;
  let side: ChildSidecar | undefined;
  let image: PushedImage;
  let paused: PausedClients | undefined;

  before(async () => {
    // Layer 0 is the normal pull; the other 8 are held open by paused clients (4 each).
    const layers = [{ seed: "paused-normal", size: 8 * MiB }];
    for (let i = 0; i < 8; i++) layers.push({ seed: `paused-${i}`, size: 24 * MiB });
    // A registry of 50 MB/s: what paused streams make it send ahead delays everyone else's bytes.
    ({ origin, image } = await startOriginWithImage(layers, {
      repo: "team-a/paused",
      origin: { bytesPerSec: 50_000_000 },
    }));
    side = await startChildSidecar(origin, SIDECAR_ARGS);
  });
  after(async () => {
    await paused?.close();
    await side?.stop();
    await origin?.stop();
  });

  const blobUrl = (digest: string) => `${side!.url}${side!.apiPrefix}/team-a/paused/blobs/${digest}`;

  async function timedPull(digest: string): Promise<number> {
    const started = performance.now();
    expect(await pullDiscarding(blobUrl(digest), ALICE)).to.equal(digest);
    return performance.now() - started;
  }

  it("paused clients: 32 blob GETs that stop reading slow a normal pull beside them by less than 2x, and are dropped after transferTimeout", async () => {
    const normal = image.layers[0]!.digest;
    // The baseline pull runs cold, as the one under load will (a new sidecar would not have it).
    const baseline = await timedPull(normal);
    await side!.stop();
    side = await startChildSidecar(origin!, [
      ...SIDECAR_ARGS,
      "--transfer-timeout",
      String(PAUSED_PATIENCE_S),
    ]);
    const requests = image.layers
      .slice(1)
      .flatMap((layer) => Array.from({ length: 4 }, () => blobRequest(side!, layer.digest)));
    paused = await startPausedClients("127.0.0.1", Number(side.host.split(":")[1]), requests);
    // The normal pull starts once every paused client has stopped taking bytes and the sidecar has
    // stopped fetching for them: what they cost before that is a fair share of the registry's
    // bandwidth, what they hold after it is the finding (fetch slots held by sockets made it 10x).
    await waitUntil(
      async () => {
        const metrics = await side!.metrics();
        return (
          metricValue(metrics, "acr_p2p_readers_backed_up") === 32 &&
          metricValue(metrics, "acr_p2p_block_fetches_in_flight") === 0
        );
      },
      30_000,
      () => "paused clients not all backed up with no fetch in flight",
    );
    const fetchedBefore = origin!.proxy.blobBytes();
    const loaded = await timedPull(normal);
    const during = await side!.metrics();
    // The paused clients were still held through the pull, not dropped before it.
    expect(metricValue(during, "acr_p2p_stalled_readers_dropped_total")).to.equal(0);
    expect(loaded).to.be.below(2 * baseline);
    // Every paused response is dropped once it has been backed up for transferTimeout.
    await waitUntil(
      async () => metricValue(await side!.metrics(), "acr_p2p_stalled_readers_dropped_total") === 32,
      60_000,
      () => "paused clients not all dropped",
    );
    await waitUntil(
      async () => {
        const metrics = await side!.metrics();
        return (
          metricValue(metrics, "acr_p2p_requests_in_flight", '{kind="all"}') === 0 &&
          metricValue(metrics, "acr_p2p_readers_backed_up") === 0
        );
      },
      10_000,
      () => "dropped requests still counted in flight or backed up",
    );
    console.log(
      `      8 MiB pull: ${baseline.toFixed(0)} ms alone, ${loaded.toFixed(0)} ms beside 32 paused clients; ` +
        `the registry sent ${((origin!.proxy.blobBytes() - fetchedBefore) / MiB).toFixed(1)} MiB meanwhile`,
    );
  });
});

describe("sidecar process: a crowd of pulls stays inside cap + margin", function () {
  this.timeout(300_000);
  let origin: Origin | undefined;
  let side: ChildSidecar | undefined;
  let image: PushedImage;

  before(async () => {
    const layers = Array.from({ length: 40 }, (_, i) => ({ seed: `crowd-${i}`, size: 2 * MiB }));
    ({ origin, image } = await startOriginWithImage(layers, { repo: "team-a/crowd" }));
    // The harness's 3 s transferTimeout is for fault tests: 600 requests on two busy cores may wait
    // longer for their turn at the registry, and this test is about memory, not patience (in CI one
    // request once answered 504).
    side = await startChildSidecar(origin, ["--option-block-size", String(CAP), "--transfer-timeout", "30"]);
  });
  after(async () => {
    await side?.stop();
    await origin?.stop();
  });

  it(`crowd: 600 concurrent GETs over 40 blobs with a ${CAP / MiB} MiB cap peak under cap + the working margin + the idle process`, async () => {
    const url = (digest: string) => `${side!.url}${side!.apiPrefix}/team-a/crowd/blobs/${digest}`;
    // The idle process, after one request has loaded the request path.
    expect(await pullDiscarding(url(image.layers[0]!.digest), ALICE)).to.equal(image.layers[0]!.digest);
    const idle = side!.rssBytes();
    let peak = idle;
    const sampler = setInterval(() => (peak = Math.max(peak, side!.rssBytes())), 20);
    try {
      const pulls = Array.from({ length: 600 }, (_, i) => image.layers[i % 40]!.digest);
      const got = await Promise.all(pulls.map((d) => pullDiscarding(url(d), ALICE)));
      expect(got).to.deep.equal(pulls);
      // 80 MiB through a 32 MiB cache: the buffers of dropped blocks served the next ones, so their
      // memory was neither left to the collector nor allocated again.
      const metrics = await side!.metrics();
      const reused = metricValue(metrics, "acr_p2p_block_buffers_total", '{how="reused"}');
      const allocated = metricValue(metrics, "acr_p2p_block_buffers_total", '{how="allocated"}');
      expect(reused, "block buffers reused").to.be.at.least((40 * MiB) / BLOCK_BYTES);
      expect(allocated, "block buffers allocated").to.be.below(reused);
    } finally {
      clearInterval(sampler);
    }
    console.log(
      `      RSS idle ${(idle / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB: ` +
        `${((peak - idle - CAP) / MiB).toFixed(0)} MiB over idle + cap (working margin ${SIDECAR_WORKING_MARGIN_BYTES / MiB} MiB)`,
    );
    // Measured 26-44 MiB over idle + cap in 20 runs (before the budget: 85-109; the review: 455).
    expect(peak).to.be.below(idle + CAP + SIDECAR_WORKING_MARGIN_BYTES);
  });
});

/** The head of a blob GET, as a client sends it. */
function blobRequest(side: ChildSidecar, digest: string): string {
  const path = `${side.apiPrefix}/team-a/paused/blobs/${digest}`;
  return `GET ${path} HTTP/1.1\r\nhost: ${side.host}\r\nauthorization: ${ALICE}\r\n\r\n`;
}
