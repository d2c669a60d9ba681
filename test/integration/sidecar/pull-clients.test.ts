/**
 * Real pull clients through the sidecar: containerd (ctr) and skopeo pull rig images via
 * `127.0.0.1:PORT/<encoded origin host>/<repo>:<tag>`, as rewritten pods would.
 */
import { expect } from "chai";
import { join } from "node:path";
import { splitLayers } from "../../support/images/layers.ts";
import { pushImage, type PushedImage, type PushedIndex } from "../../support/images/push.ts";
import { makeTempDir, removeTempDir } from "../../support/origin/child-process.ts";
import type { Origin } from "../../support/origin/origin-stack.ts";
import { startOriginWithImage } from "../../support/origin/origin-with-image.ts";
import { startContainerd, type Containerd } from "../../support/pull-clients/containerd.ts";
import {
  expectImagePull,
  expectMultiArchPulls,
  MiB,
  pushMultiArch,
  sha256File,
} from "../../support/pull-clients/pulled-content.ts";
import { skopeoCopy } from "../../support/pull-clients/skopeo.ts";
import { startTestSidecar, stopSidecarRig, type TestSidecar } from "./sidecar-harness.ts";

describe("real clients pull through the sidecar", function () {
  this.timeout(180_000);
  let origin: Origin;
  let side: TestSidecar;
  let image: PushedImage;
  let dockerImage: PushedImage;
  let multi: PushedIndex;

  before(async () => {
    ({ origin, image } = await startOriginWithImage(splitLayers(12 * MiB, 3, "sc-app")));
    const pusher = origin.pushClient();
    dockerImage = await pushImage(pusher, {
      repo: "team-a/docker",
      tag: "v1",
      format: "docker",
      layers: splitLayers(5 * MiB, 3, "sc-docker"),
    });
    multi = await pushMultiArch(pusher, "sc-multi");
    side = await startTestSidecar(origin, { args: ["--blocksize", "256"] });
  });
  after(() => stopSidecarRig(side, origin));

  describe("containerd", () => {
    let ctrd: Containerd;
    before(async () => {
      ctrd = await startContainerd();
    });
    after(async () => {
      await ctrd?.stop();
    });
    afterEach(async () => {
      await ctrd.removeAllImages();
    });

    it("pulls and unpacks a 3-layer image; every blob matches its digest", async () => {
      origin.proxy.reset();
      await expectImagePull(ctrd, `${side.imagePrefix}/${image.reference}`, image);
      // The origin sent the image's blobs once.
      expect(origin.proxy.blobBytes()).to.equal(image.totalBytes - image.manifest.size);
    });

    it("pulls a multi-arch index: the current platform, and every platform on request", async () => {
      const digests = await expectMultiArchPulls(ctrd, `${side.imagePrefix}/${multi.reference}`, multi);
      for (const d of digests) expect(sha256File(ctrd.contentPath(d))).to.equal(d);
    });

    it("is refused with wrong, missing or other-team credentials, even for a cached image", async () => {
      const ref = `${side.imagePrefix}/${image.reference}`;
      for (const user of ["alice:wrong", "bob:bob-pw", undefined]) {
        const res = await ctrd.pullWithCtr(ref, { plainHttp: true, ...(user ? { user } : {}) });
        expect(res.code, String(user)).to.not.equal(0);
        expect(res.stderr, String(user)).to.match(/401|unauthorized|authorization/i);
      }
      expect(await ctrd.listContent()).to.deep.equal([]);
    });
  });

  describe("skopeo", () => {
    let out: string;
    before(() => {
      out = makeTempDir("sidecar-skopeo");
    });
    after(() => {
      if (out) removeTempDir(out);
    });

    it("copies a docker-format image to a dir; manifest and blob digests match", async () => {
      const res = await skopeoCopy(`${side.imagePrefix}/${dockerImage.reference}`, join(out, "docker"), {
        creds: "alice:alice-pw",
      });
      expect(res.run.code, res.run.stderr).to.equal(0);
      expect(res.image!.manifestDigest).to.equal(dockerImage.manifest.digest);
      expect(res.image!.blobs).to.have.members([
        dockerImage.config.digest,
        ...dockerImage.layers.map((l) => l.digest),
      ]);
    });

    it("copies every platform of an index with --all", async () => {
      const res = await skopeoCopy(`${side.imagePrefix}/${multi.reference}`, join(out, "multi"), {
        creds: "alice:alice-pw",
        all: true,
      });
      expect(res.run.code, res.run.stderr).to.equal(0);
      expect(res.image!.manifestDigest).to.equal(multi.index.digest);
      expect([...res.image!.instances.keys()]).to.have.members(multi.images.map((i) => i.manifest.digest));
    });

    it("is refused without credentials", async () => {
      const res = await skopeoCopy(`${side.imagePrefix}/${dockerImage.reference}`, join(out, "anon"), {});
      expect(res.run.code).to.not.equal(0);
      expect(res.image).to.equal(null);
    });
  });
});
