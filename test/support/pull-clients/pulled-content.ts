/**
 * What a real client's pull is checked against, shared by the tests that pull straight from the origin
 * and those that pull through the sidecar: the digests an image's pull stores, a stored file's own
 * sha256, and the two-platform index both push and pull the same way.
 */
import { expect } from "chai";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { splitLayers } from "../images/layers.ts";
import { LINUX_AMD64, LINUX_ARM64, pushIndex, type PushedImage, type PushedIndex } from "../images/push.ts";
import type { RegistryClient } from "../images/registry-client.ts";
import type { Containerd, ContentEntry } from "./containerd.ts";

export const MiB = 1024 * 1024;

export function sha256File(path: string): string {
  return `sha256:${createHash("sha256").update(readFileSync(path)).digest("hex")}`;
}

/** Manifest, config and layers: every blob a single-platform pull of `image` stores. */
export function imageDigests(image: PushedImage): string[] {
  return [image.manifest.digest, image.config.digest, ...image.layers.map((l) => l.digest)];
}

/** team-a/multi:v1, an index of two small images (linux/amd64 first, linux/arm64); seeds start with `seed`. */
export function pushMultiArch(pusher: RegistryClient, seed: string): Promise<PushedIndex> {
  return pushIndex(pusher, {
    repo: "team-a/multi",
    tag: "v1",
    images: [
      { platform: LINUX_AMD64, layers: splitLayers(MiB, 2, `${seed}-amd64`) },
      { platform: LINUX_ARM64, layers: splitLayers(MiB, 2, `${seed}-arm64`) },
    ],
  });
}

/**
 * containerd pulls and unpacks `image` at `ref` as alice. Checks the stored blobs (their digests, each
 * layer file's own sha256) and the listed image; returns the stored content.
 */
export async function expectImagePull(
  ctrd: Containerd,
  ref: string,
  image: PushedImage,
): Promise<ContentEntry[]> {
  const res = await ctrd.pullWithCtr(ref, { plainHttp: true, user: "alice:alice-pw" });
  expect(res.code, res.stderr).to.equal(0);
  expect(res.stdout).to.include("unpacking linux/amd64");
  const content = await ctrd.listContent();
  expect(content.map((c) => c.digest)).to.have.members(imageDigests(image));
  for (const layer of image.layers) expect(sha256File(ctrd.contentPath(layer.digest))).to.equal(layer.digest);
  const [listed] = await ctrd.listImages();
  expect(listed).to.include({ name: ref, digest: image.manifest.digest });
  return content;
}

/**
 * containerd pulls the index at `ref` as alice: first the current platform (amd64, unpacked), then,
 * with the images removed, every platform without unpacking. Checks the stored digests after each
 * pull and returns those of the second.
 */
export async function expectMultiArchPulls(
  ctrd: Containerd,
  ref: string,
  multi: PushedIndex,
): Promise<string[]> {
  const res = await ctrd.pullWithCtr(ref, { plainHttp: true, user: "alice:alice-pw" });
  expect(res.code, res.stderr).to.equal(0);
  let digests = (await ctrd.listContent()).map((c) => c.digest);
  expect(digests).to.have.members([multi.index.digest, ...imageDigests(multi.images[0]!)]);
  await ctrd.removeAllImages();
  const all = await ctrd.pullWithCtr(ref, {
    plainHttp: true,
    user: "alice:alice-pw",
    allPlatforms: true,
    unpack: false,
  });
  expect(all.code, all.stderr).to.equal(0);
  digests = (await ctrd.listContent()).map((c) => c.digest);
  expect(digests).to.have.members([multi.index.digest, ...multi.images.flatMap(imageDigests)]);
  return digests;
}
