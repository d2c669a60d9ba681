/**
 * containerd (ctr) pulls rig images straight from the token-auth origin: the right user gets
 * every blob with the right digest and an unpacked image; a wrong or missing user gets nothing.
 * Pulling through the throttle proxy transfers exactly the image's bytes.
 */
import { expect } from "chai";
import type { Origin } from "../../support/origin/origin-stack.ts";
import { startOriginWithImage } from "../../support/origin/origin-with-image.ts";
import { splitLayers } from "../../support/images/layers.ts";
import type { PushedImage, PushedIndex } from "../../support/images/push.ts";
import { startContainerd, type Containerd } from "../../support/pull-clients/containerd.ts";
import {
  expectImagePull,
  expectMultiArchPulls,
  MiB,
  pushMultiArch,
} from "../../support/pull-clients/pulled-content.ts";

describe("rig: containerd pulls from the origin", function () {
  this.timeout(180_000);
  let origin: Origin;
  let ctrd: Containerd;
  let image: PushedImage;
  let multi: PushedIndex;

  before(async () => {
    ({ origin, image } = await startOriginWithImage(splitLayers(12 * MiB, 3, "ctr-app")));
    ctrd = await startContainerd();
    multi = await pushMultiArch(origin.pushClient(), "ctr-multi");
  });
  after(async () => {
    await ctrd?.stop();
    await origin?.stop();
  });
  afterEach(async () => {
    await ctrd.removeAllImages();
    origin.proxy.reset();
  });

  it("pulls and unpacks a 3-layer image with the right user (OAuth2 POST first)", async () => {
    const posts = origin.tokenServer!.counts.post;
    const content = await expectImagePull(ctrd, `${origin.registry.host}/${image.reference}`, image);
    for (const layer of image.layers) {
      expect(content.find((c) => c.digest === layer.digest)?.size).to.equal(layer.size);
    }
    expect(origin.tokenServer!.counts.post).to.be.greaterThan(posts);
  });

  it("fails with a wrong password and with no credentials", async () => {
    const ref = `${origin.registry.host}/${image.reference}`;
    const wrong = await ctrd.pullWithCtr(ref, { plainHttp: true, user: "alice:wrong" });
    expect(wrong.code).to.not.equal(0);
    expect(wrong.stderr).to.match(/401 Unauthorized/);
    const otherTeam = await ctrd.pullWithCtr(ref, { plainHttp: true, user: "bob:bob-pw" });
    expect(otherTeam.code).to.not.equal(0);
    const anonymous = await ctrd.pullWithCtr(ref, { plainHttp: true });
    expect(anonymous.code).to.not.equal(0);
    expect(anonymous.stderr).to.match(/insufficient_scope|authorization/);
    expect(await ctrd.listContent()).to.deep.equal([]);
  });

  it("pulls a multi-arch index: the current platform by default, every platform on request", async () => {
    await expectMultiArchPulls(ctrd, `${origin.registry.host}/${multi.reference}`, multi);
  });

  it("through the throttle proxy, transfers the image's bytes once", async () => {
    const res = await ctrd.pullWithCtr(`${origin.proxy.host}/${image.reference}`, {
      plainHttp: true,
      user: "alice:alice-pw",
    });
    expect(res.code, res.stderr).to.equal(0);
    expect(origin.proxy.blobBytes()).to.equal(image.totalBytes - image.manifest.size);
    // containerd 1.6 sends the manifest HEAD and GET once without a token (401, small JSON body).
    const manifestBytes = origin.proxy.records
      .filter((r) => r.path.includes("/manifests/") && r.status === 200)
      .reduce((a, r) => a + r.bytes, 0);
    expect(manifestBytes).to.equal(image.manifest.size);
  });
});
