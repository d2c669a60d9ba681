/**
 * The cache cap holds in a real sidecar process, the bundle the sidecar image runs: pulling more than
 * the cap evicts, the cache never holds more than the cap, and the process's resident memory stays
 * under the memory limit the webhook gives injected sidecars: cap + SIDECAR_MEMORY_MARGIN_BYTES (the
 * budget of lib/sidecar-memory.ts, the chart's `sidecar.memoryMargin`).
 */
import { expect } from "chai";
import { bundle } from "../../../hack/images/bundle.ts";
import { SIDECAR_MEMORY_MARGIN_BYTES } from "../../../lib/sidecar-memory.ts";
import { makeTempDir, removeTempDir } from "../../support/origin/child-process.ts";
import { splitLayers } from "../../support/images/layers.ts";
import type { PushedImage } from "../../support/images/push.ts";
import type { Origin } from "../../support/origin/origin-stack.ts";
import { startOriginWithImage } from "../../support/origin/origin-with-image.ts";
import { metricValue, startChildSidecar, type ChildSidecar } from "./child-sidecar.ts";
import { ALICE, pullDiscarding } from "./sidecar-harness.ts";

const MiB = 1024 * 1024;
const CAP = 32 * MiB;

describe("sidecar process: the memory cache cap holds", function () {
  this.timeout(300_000);
  let origin: Origin;
  let side: ChildSidecar;
  let image: PushedImage;
  const bundleDir = makeTempDir("sidecar-bundle");

  before(async () => {
    const made = await bundle("sidecar", bundleDir);
    ({ origin, image } = await startOriginWithImage(splitLayers(128 * MiB, 4, "memcap"), {
      repo: "team-a/big",
    }));
    side = await startChildSidecar(
      origin,
      ["--option-block-size", String(CAP), "--blocksize", "1024"],
      process.env,
      made.file,
    );
  });
  after(async () => {
    await side?.stop();
    await origin?.stop();
    removeTempDir(bundleDir);
  });

  it(`evicts past a ${CAP / MiB} MiB cap and stays under cap + ${SIDECAR_MEMORY_MARGIN_BYTES / MiB} MiB RSS (the injected memory limit)`, async () => {
    const baseline = side.rssBytes();
    let peakRss = side.rssBytes();
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, side.rssBytes())), 50);
    try {
      // Two rounds, two blobs at a time: more than four times the cap goes through the cache.
      for (const round of [0, 1]) {
        const pairs = [image.layers.slice(0, 2), image.layers.slice(2, 4)];
        for (const pair of pairs) {
          const digests = await Promise.all(
            pair.map((l) =>
              pullDiscarding(`${side.url}${side.apiPrefix}/team-a/big/blobs/${l.digest}`, ALICE),
            ),
          );
          expect(digests, `round ${round}`).to.deep.equal(pair.map((l) => l.digest));
        }
      }
    } finally {
      clearInterval(sampler);
    }
    const text = await side.metrics();
    expect(metricValue(text, "acr_p2p_cache_evictions_total")).to.be.greaterThan(0);
    expect(metricValue(text, "acr_p2p_cache_bytes")).to.be.at.most(CAP);
    expect(metricValue(text, "acr_p2p_cache_capacity_bytes")).to.equal(CAP);
    expect(metricValue(text, "acr_p2p_block_bytes_total", '{source="origin"}')).to.be.at.least(128 * MiB);
    const reported = metricValue(text, "process_resident_memory_bytes");
    console.log(
      `      RSS: ${(baseline / MiB).toFixed(1)} MiB at start, peak ${(peakRss / MiB).toFixed(1)} MiB, reported ${(reported / MiB).toFixed(1)} MiB, cap ${CAP / MiB} MiB`,
    );
    expect(peakRss).to.be.lessThan(CAP + SIDECAR_MEMORY_MARGIN_BYTES);
  });
});
