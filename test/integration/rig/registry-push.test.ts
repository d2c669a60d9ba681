/**
 * The image builder pushes real, readable images to Debian's docker-registry: a 3-layer image in
 * both manifest formats and a multi-arch index; what the registry serves back is byte-identical to
 * what was built, and Range reads work.
 */
import { expect } from "chai";
import { createHash } from "node:crypto";
import { startOrigin, type Origin } from "../../support/origin/origin-stack.ts";
import { startRegistry } from "../../support/origin/registry.ts";
import { startHostileListener } from "../../support/origin/hostile-listener.ts";
import { splitLayers } from "../../support/images/layers.ts";
import { LINUX_AMD64, LINUX_ARM64, layerBlob, pushImage, pushIndex } from "../../support/images/push.ts";
import { RegistryClient } from "../../support/images/registry-client.ts";

const sha256 = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

describe("rig: origin registry and image pusher", function () {
  let origin: Origin;
  before(async () => {
    origin = await startOrigin();
  });
  after(async () => origin?.stop());

  for (const format of ["oci", "docker"] as const) {
    it(`pushes a 3-layer ${format} image and reads back the same bytes`, async () => {
      const client = origin.pushClient();
      const image = await pushImage(client, {
        repo: `team-a/three-${format}`,
        tag: "v1",
        format,
        layers: splitLayers(3 * 1024 * 1024, 3, `three-${format}`),
      });
      expect(image.layers).to.have.length(3);
      const manifest = await client.get(image.repo, "manifests/v1", {
        headers: { accept: image.manifest.mediaType },
      });
      expect(manifest.status).to.equal(200);
      expect(manifest.headers["content-type"]).to.equal(image.manifest.mediaType);
      expect(manifest.headers["docker-content-digest"]).to.equal(image.manifest.digest);
      expect(manifest.body.equals(image.manifest.bytes)).to.equal(true);
      for (const layer of image.layers) {
        const blob = await client.get(image.repo, `blobs/${layer.digest}`);
        expect(blob.status).to.equal(200);
        expect(sha256(blob.body)).to.equal(layer.digest);
        expect(blob.body.equals(Buffer.concat([...layerBlob(layer)]))).to.equal(true);
      }
      const config = await client.get(image.repo, `blobs/${image.config.digest}`);
      expect(JSON.parse(config.body.toString()).rootfs.diff_ids).to.deep.equal(
        image.layers.map((l) => l.diffId),
      );
    });
  }

  it("pushes a multi-arch index (amd64 + arm64) whose children resolve by digest", async () => {
    const client = origin.pushClient();
    const pushed = await pushIndex(client, {
      repo: "team-a/multi",
      tag: "v1",
      images: [
        { platform: LINUX_AMD64, layers: splitLayers(512 * 1024, 2, "multi-amd64") },
        { platform: LINUX_ARM64, layers: splitLayers(512 * 1024, 2, "multi-arm64") },
      ],
    });
    const index = await client.get("team-a/multi", "manifests/v1", {
      headers: { accept: pushed.index.mediaType },
    });
    expect(index.headers["docker-content-digest"]).to.equal(pushed.index.digest);
    const parsed = JSON.parse(index.body.toString()) as { manifests: { digest: string; platform: object }[] };
    expect(parsed.manifests.map((m) => m.platform)).to.deep.equal([LINUX_AMD64, LINUX_ARM64]);
    for (const child of pushed.images) {
      const res = await client.get("team-a/multi", `manifests/${child.manifest.digest}`, {
        headers: { accept: child.manifest.mediaType },
      });
      expect(res.status).to.equal(200);
      expect(res.body.equals(child.manifest.bytes)).to.equal(true);
    }
  });

  it("serves Range reads and HEAD of a pushed blob", async () => {
    const client = origin.pushClient();
    const image = await pushImage(client, {
      repo: "team-a/range",
      tag: "v1",
      layers: splitLayers(200_000, 1, "range"),
    });
    const layer = image.layers[0]!;
    const whole = Buffer.concat([...layerBlob(layer)]);
    const part = await client.get(image.repo, `blobs/${layer.digest}`, {
      headers: { range: "bytes=1000-1999" },
    });
    expect(part.status).to.equal(206);
    expect(part.headers["content-range"]).to.equal(`bytes 1000-1999/${layer.size}`);
    expect(part.body.equals(whole.subarray(1000, 2000))).to.equal(true);
    const head = await client.get(image.repo, `blobs/${layer.digest}`, { method: "HEAD" });
    expect(head.status).to.equal(200);
    expect(Number(head.headers["content-length"])).to.equal(layer.size);
  });

  it("advertises an overridden (hostile) realm, and the push client can still push", async () => {
    const hostile = await startHostileListener();
    const bad = await startOrigin({ realm: `${hostile.url}/token` });
    try {
      const res = await fetch(`${bad.registry.url}/v2/`);
      expect(res.status).to.equal(401);
      expect(res.headers.get("www-authenticate")).to.include(`realm="${hostile.url}/token"`);
      await pushImage(bad.pushClient(), {
        repo: "team-a/x",
        tag: "v1",
        layers: splitLayers(1024, 1, "hostile"),
      });
      expect(hostile.connections).to.equal(0);
      // A client that follows the challenge does reach the listener: the listener detects it.
      await new RegistryClient({ baseUrl: bad.registry.url })
        .token("repository:team-a/x:pull")
        .catch(() => null);
      expect(hostile.connections).to.equal(1);
    } finally {
      await bad.stop();
      await hostile.close();
    }
  });

  it("runs without auth when asked", async () => {
    const registry = await startRegistry({ auth: { kind: "none" } });
    try {
      const client = new RegistryClient({ baseUrl: registry.url });
      const image = await pushImage(client, {
        repo: "open/app",
        tag: "v1",
        layers: splitLayers(1024, 1, "open"),
      });
      const accept = { accept: image.manifest.mediaType };
      expect((await client.get("open/app", "manifests/v1", { headers: accept })).status).to.equal(200);
      // docker-registry 2.8 answers 404 for an OCI manifest when Accept does not list OCI types.
      expect((await client.get("open/app", "manifests/v1")).status).to.equal(404);
      expect(await client.token("repository:open/app:pull")).to.equal(null);
      expect(image.reference).to.equal("open/app:v1");
    } finally {
      await registry.stop();
    }
  });
});
