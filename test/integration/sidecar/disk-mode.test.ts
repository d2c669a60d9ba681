import { expect } from "chai";
import type { PushedImage } from "../../support/images/push.ts";
import type { Origin } from "../../support/origin/origin-stack.ts";
import { ALICE, get, sha256, startSidecarRig, stopSidecarRig, type TestSidecar } from "./sidecar-harness.ts";

describe("sidecar in disk cache mode", function () {
  this.timeout(120_000);
  let origin: Origin;
  let side: TestSidecar;
  let image: PushedImage;

  before(async () => {
    ({ origin, image, side } = await startSidecarRig([{ seed: "disk-1", size: 900 * 1024 }], {
      sidecar: { args: ["--cache-mode", "disk", "--capacity", String(8 * 1024 * 1024), "--blocksize", "64"] },
    }));
  });
  after(() => stopSidecarRig(side, origin));

  it("serves a blob, then serves it again from the disk cache", async () => {
    const layer = image.layers[0]!;
    const url = `${side.url}${side.apiPrefix}/team-a/app/blobs/${layer.digest}`;
    for (const round of [0, 1]) {
      origin.proxy.reset();
      const res = await get(url, { authorization: ALICE });
      expect(res.status).to.equal(200);
      expect(sha256(res.body)).to.equal(layer.digest);
      expect(origin.proxy.blobBytes(), `round ${round}`).to.equal(round === 0 ? layer.size : 0);
    }
  });
});
