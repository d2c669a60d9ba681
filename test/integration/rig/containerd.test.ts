/**
 * containerd (ctr) pulls rig images straight from the token-auth origin: the right user gets
 * every blob with the right digest and an unpacked image; a wrong or missing user gets nothing.
 * Pulling through the throttle proxy transfers exactly the image's bytes.
 */
import { expect } from "chai";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { startOrigin, type Origin } from "../../support/origin/origin-stack.ts";
import { splitLayers } from "../../support/images/layers.ts";
import {
  LINUX_AMD64,
  LINUX_ARM64,
  pushImage,
  pushIndex,
  type PushedImage,
  type PushedIndex,
} from "../../support/images/push.ts";
import { startContainerd, type Containerd } from "../../support/pull-clients/containerd.ts";

const sha256File = (path: string) =>
  `sha256:${createHash("sha256").update(readFileSync(path)).digest("hex")}`;
const MiB = 1024 * 1024;

function expectedDigests(image: PushedImage): string[] {
  return [image.manifest.digest, image.config.digest, ...image.layers.map((l) => l.digest)];
}

describe("rig: containerd pulls from the origin", function () {
  this.timeout(180_000);
  let origin: Origin;
  let ctrd: Containerd;
  let image: PushedImage;
  let multi: PushedIndex;

  before(async () => {
    origin = await startOrigin();
    ctrd = await startContainerd();
    const pusher = origin.pushClient();
    image = await pushImage(pusher, {
      repo: "team-a/app",
      tag: "v1",
      layers: splitLayers(12 * MiB, 3, "ctr-app"),
    });
    multi = await pushIndex(pusher, {
      repo: "team-a/multi",
      tag: "v1",
      images: [
        { platform: LINUX_AMD64, layers: splitLayers(MiB, 2, "ctr-multi-amd64") },
        { platform: LINUX_ARM64, layers: splitLayers(MiB, 2, "ctr-multi-arm64") },
      ],
    });
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
    const res = await ctrd.pullWithCtr(`${origin.registry.host}/${image.reference}`, {
      plainHttp: true,
      user: "alice:alice-pw",
    });
    expect(res.code, res.stderr).to.equal(0);
    expect(res.stdout).to.include("unpacking linux/amd64");
    const content = await ctrd.listContent();
    expect(content.map((c) => c.digest)).to.have.members(expectedDigests(image));
    for (const layer of image.layers) {
      expect(sha256File(ctrd.contentPath(layer.digest))).to.equal(layer.digest);
      expect(content.find((c) => c.digest === layer.digest)?.size).to.equal(layer.size);
    }
    const [listed] = await ctrd.listImages();
    expect(listed).to.include({
      name: `${origin.registry.host}/${image.reference}`,
      digest: image.manifest.digest,
    });
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
    const ref = `${origin.registry.host}/${multi.reference}`;
    const res = await ctrd.pullWithCtr(ref, { plainHttp: true, user: "alice:alice-pw" });
    expect(res.code, res.stderr).to.equal(0);
    const amd64 = multi.images[0]!;
    let digests = (await ctrd.listContent()).map((c) => c.digest);
    expect(digests).to.have.members([multi.index.digest, ...expectedDigests(amd64)]);
    await ctrd.removeAllImages();
    const all = await ctrd.pullWithCtr(ref, {
      plainHttp: true,
      user: "alice:alice-pw",
      allPlatforms: true,
      unpack: false,
    });
    expect(all.code, all.stderr).to.equal(0);
    digests = (await ctrd.listContent()).map((c) => c.digest);
    expect(digests).to.have.members([multi.index.digest, ...multi.images.flatMap(expectedDigests)]);
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
