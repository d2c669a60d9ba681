/**
 * Real pull clients through the sidecar: containerd (ctr) and skopeo pull rig images via
 * `127.0.0.1:PORT/<encoded origin host>/<repo>:<tag>`, as rewritten pods would.
 */
import { expect } from "chai";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { splitLayers } from "../../support/images/layers.ts";
import {
  LINUX_AMD64,
  LINUX_ARM64,
  pushImage,
  pushIndex,
  type PushedImage,
  type PushedIndex,
} from "../../support/images/push.ts";
import { makeTempDir, removeTempDir } from "../../support/origin/child-process.ts";
import { startOrigin, type Origin } from "../../support/origin/origin-stack.ts";
import { startContainerd, type Containerd } from "../../support/pull-clients/containerd.ts";
import { skopeoCopy } from "../../support/pull-clients/skopeo.ts";
import { startTestSidecar, type TestSidecar } from "./sidecar-harness.ts";

const MiB = 1024 * 1024;
const sha256File = (path: string) =>
  `sha256:${createHash("sha256").update(readFileSync(path)).digest("hex")}`;

function digestsOf(image: PushedImage): string[] {
  return [image.manifest.digest, image.config.digest, ...image.layers.map((l) => l.digest)];
}

describe("real clients pull through the sidecar", function () {
  this.timeout(180_000);
  let origin: Origin;
  let side: TestSidecar;
  let image: PushedImage;
  let dockerImage: PushedImage;
  let multi: PushedIndex;

  before(async () => {
    origin = await startOrigin();
    const pusher = origin.pushClient();
    image = await pushImage(pusher, {
      repo: "team-a/app",
      tag: "v1",
      layers: splitLayers(12 * MiB, 3, "sc-app"),
    });
    dockerImage = await pushImage(pusher, {
      repo: "team-a/docker",
      tag: "v1",
      format: "docker",
      layers: splitLayers(5 * MiB, 3, "sc-docker"),
    });
    multi = await pushIndex(pusher, {
      repo: "team-a/multi",
      tag: "v1",
      images: [
        { platform: LINUX_AMD64, layers: splitLayers(MiB, 2, "sc-multi-amd64") },
        { platform: LINUX_ARM64, layers: splitLayers(MiB, 2, "sc-multi-arm64") },
      ],
    });
    side = await startTestSidecar(origin, { args: ["--blocksize", "256"] });
  });
  after(async () => {
    await side?.close();
    await origin?.stop();
  });

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
      const ref = `${side.imagePrefix}/${image.reference}`;
      const res = await ctrd.pullWithCtr(ref, { plainHttp: true, user: "alice:alice-pw" });
      expect(res.code, res.stderr).to.equal(0);
      expect(res.stdout).to.include("unpacking linux/amd64");
      const content = await ctrd.listContent();
      expect(content.map((c) => c.digest)).to.have.members(digestsOf(image));
      for (const layer of image.layers)
        expect(sha256File(ctrd.contentPath(layer.digest))).to.equal(layer.digest);
      const [listed] = await ctrd.listImages();
      expect(listed).to.include({ name: ref, digest: image.manifest.digest });
      // The origin sent the image's blobs once.
      expect(origin.proxy.blobBytes()).to.equal(image.totalBytes - image.manifest.size);
    });

    it("pulls a multi-arch index: the current platform, and every platform on request", async () => {
      const ref = `${side.imagePrefix}/${multi.reference}`;
      const res = await ctrd.pullWithCtr(ref, { plainHttp: true, user: "alice:alice-pw" });
      expect(res.code, res.stderr).to.equal(0);
      let digests = (await ctrd.listContent()).map((c) => c.digest);
      expect(digests).to.have.members([multi.index.digest, ...digestsOf(multi.images[0]!)]);
      await ctrd.removeAllImages();
      const all = await ctrd.pullWithCtr(ref, {
        plainHttp: true,
        user: "alice:alice-pw",
        allPlatforms: true,
        unpack: false,
      });
      expect(all.code, all.stderr).to.equal(0);
      digests = (await ctrd.listContent()).map((c) => c.digest);
      expect(digests).to.have.members([multi.index.digest, ...multi.images.flatMap(digestsOf)]);
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
