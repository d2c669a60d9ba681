/**
 * skopeo copies rig images from the token-auth origin into `dir:` layouts with matching digests,
 * and is refused with wrong or missing credentials.
 */
import { expect } from "chai";
import { join } from "node:path";
import { makeTempDir, removeTempDir } from "../../support/origin/child-process.ts";
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
import { skopeoCopy } from "../../support/pull-clients/skopeo.ts";

describe("rig: skopeo copies from the origin", function () {
  this.timeout(120_000);
  let origin: Origin;
  let image: PushedImage;
  let multi: PushedIndex;
  let out: string;

  before(async () => {
    origin = await startOrigin();
    out = makeTempDir("skopeo-out");
    const pusher = origin.pushClient();
    image = await pushImage(pusher, {
      repo: "team-a/app",
      tag: "v1",
      format: "docker",
      layers: splitLayers(6 << 20, 3, "skopeo-app"),
    });
    multi = await pushIndex(pusher, {
      repo: "team-a/multi",
      tag: "v1",
      images: [
        { platform: LINUX_AMD64, layers: splitLayers(1 << 20, 2, "skopeo-multi-amd64") },
        { platform: LINUX_ARM64, layers: splitLayers(1 << 20, 2, "skopeo-multi-arm64") },
      ],
    });
  });
  after(async () => {
    if (out) removeTempDir(out);
    await origin?.stop();
  });

  it("copies a 3-layer image; manifest and blob digests match", async () => {
    const res = await skopeoCopy(`${origin.registry.host}/${image.reference}`, join(out, "app"), {
      creds: "alice:alice-pw",
    });
    expect(res.run.code, res.run.stderr).to.equal(0);
    expect(res.image!.manifestDigest).to.equal(image.manifest.digest);
    expect(res.image!.blobs).to.have.members([image.config.digest, ...image.layers.map((l) => l.digest)]);
  });

  it("copies every platform of an index with --all", async () => {
    const res = await skopeoCopy(`${origin.registry.host}/${multi.reference}`, join(out, "multi"), {
      creds: "alice:alice-pw",
      all: true,
    });
    expect(res.run.code, res.run.stderr).to.equal(0);
    expect(res.image!.manifestDigest).to.equal(multi.index.digest);
    expect([...res.image!.instances.keys()]).to.have.members(multi.images.map((i) => i.manifest.digest));
    const blobs = multi.images.flatMap((i) => [i.config.digest, ...i.layers.map((l) => l.digest)]);
    expect(res.image!.blobs).to.have.members(blobs);
  });

  it("is refused with a wrong password or without credentials", async () => {
    const wrong = await skopeoCopy(`${origin.registry.host}/${image.reference}`, join(out, "wrong"), {
      creds: "alice:x",
    });
    expect(wrong.run.code).to.not.equal(0);
    expect(wrong.image).to.equal(null);
    const anonymous = await skopeoCopy(`${origin.registry.host}/${image.reference}`, join(out, "anon"));
    expect(anonymous.run.code).to.not.equal(0);
    expect(anonymous.run.stderr).to.match(/denied|unauthorized/i);
  });
});
