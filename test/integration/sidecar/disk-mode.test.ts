import { expect } from "chai";
import { createHash } from "node:crypto";
import { pushImage, type PushedImage } from "../../support/images/push.ts";
import { startOrigin, type Origin } from "../../support/origin/origin-stack.ts";
import { basic, get, startTestSidecar, type TestSidecar } from "./sidecar-harness.ts";

describe("sidecar in disk cache mode", function () {
  this.timeout(120_000);
  let origin: Origin;
  let side: TestSidecar;
  let image: PushedImage;

  before(async () => {
    origin = await startOrigin();
    image = await pushImage(origin.pushClient(), {
      repo: "team-a/app",
      tag: "v1",
      layers: [{ seed: "disk-1", size: 900 * 1024 }],
    });
    side = await startTestSidecar(origin, {
      args: ["--cache-mode", "disk", "--capacity", String(8 * 1024 * 1024), "--blocksize", "64"],
    });
  });
  after(async () => {
    await side?.close();
    await origin?.stop();
  });

  it("serves a blob, then serves it again from the disk cache", async () => {
    const layer = image.layers[0]!;
    const url = `${side.url}${side.apiPrefix}/team-a/app/blobs/${layer.digest}`;
    for (const round of [0, 1]) {
      origin.proxy.reset();
      const res = await get(url, { authorization: basic("alice", "alice-pw") });
      expect(res.status).to.equal(200);
      expect(`sha256:${createHash("sha256").update(res.body).digest("hex")}`).to.equal(layer.digest);
      expect(origin.proxy.blobBytes(), `round ${round}`).to.equal(round === 0 ? layer.size : 0);
    }
  });
});
