/**
 * Builds and pushes test images to a registry (normally the origin, directly, not via a proxy).
 *
 *   pushImage(client, {repo, tag?, layers, format?, platform?}) -> PushedImage
 *   pushIndex(client, {repo, tag, format?, images: [{platform, layers}]}) -> PushedIndex
 *   layerBlob(layer) -> Generator<Buffer>     the exact bytes of a pushed layer, regenerated
 *
 * Layers are generated while they stream into the upload (a 1 GiB image never sits in memory);
 * the returned descriptors carry digests, sizes and diffIds to check what a client pulled.
 */
import type { RegistryClient } from "./registry-client.ts";
import { knownDigests, layerChunks, type LayerSpec } from "./layers.ts";
import {
  MEDIA_TYPES,
  imageConfig,
  imageIndex,
  imageManifest,
  type Descriptor,
  type JsonBlob,
  type ManifestFormat,
  type Platform,
} from "./image-manifest.ts";

export interface PushedLayer extends Descriptor {
  diffId: string;
  spec: LayerSpec;
}

export interface PushedImage {
  repo: string;
  /** `repo:tag` or `repo@digest`, without the registry host. */
  reference: string;
  platform: Platform;
  layers: PushedLayer[];
  config: JsonBlob;
  manifest: JsonBlob;
  /** Sum of layer, config and manifest sizes: what a full pull transfers. */
  totalBytes: number;
}

export interface PushedIndex {
  repo: string;
  reference: string;
  index: JsonBlob;
  images: PushedImage[];
  totalBytes: number;
}

export interface ImageSpec {
  repo: string;
  /** Omit to push by digest only (index children). */
  tag?: string;
  layers: LayerSpec[];
  format?: ManifestFormat;
  platform?: Platform;
}

export const LINUX_AMD64: Platform = { os: "linux", architecture: "amd64" };
export const LINUX_ARM64: Platform = { os: "linux", architecture: "arm64", variant: "v8" };

export function layerBlob(layer: PushedLayer): Generator<Buffer> {
  return layerChunks(layer.spec);
}

async function pushLayer(client: RegistryClient, repo: string, spec: LayerSpec, mediaType: string) {
  const { digest, size } = await client.uploadBlob(repo, layerChunks(spec), knownDigests(spec)?.digest);
  // Drained by the upload (or known from an earlier push), so the memo holds the diffId.
  const known = knownDigests(spec);
  if (!known || known.digest !== digest) throw new Error(`layer ${spec.seed}: digest not recorded`);
  return { mediaType, digest, size, diffId: known.diffId, spec };
}

export async function pushImage(client: RegistryClient, spec: ImageSpec): Promise<PushedImage> {
  const format = spec.format ?? "oci";
  const platform = spec.platform ?? LINUX_AMD64;
  const layers: PushedLayer[] = [];
  for (const layer of spec.layers) {
    layers.push(await pushLayer(client, spec.repo, layer, MEDIA_TYPES[format].layer));
  }
  const config = imageConfig(
    format,
    platform,
    layers.map((l) => l.diffId),
  );
  await client.uploadBlob(spec.repo, [config.bytes], config.digest);
  const manifest = imageManifest(format, config, layers);
  const tagOrDigest = spec.tag ?? manifest.digest;
  await client.putManifest(spec.repo, tagOrDigest, manifest);
  const totalBytes = layers.reduce((a, l) => a + l.size, config.size + manifest.size);
  const reference = spec.tag ? `${spec.repo}:${spec.tag}` : `${spec.repo}@${manifest.digest}`;
  return { repo: spec.repo, reference, platform, layers, config, manifest, totalBytes };
}

export async function pushIndex(
  client: RegistryClient,
  spec: {
    repo: string;
    tag: string;
    format?: ManifestFormat;
    images: { platform: Platform; layers: LayerSpec[] }[];
  },
): Promise<PushedIndex> {
  const format = spec.format ?? "oci";
  const images: PushedImage[] = [];
  for (const image of spec.images) {
    images.push(
      await pushImage(client, { repo: spec.repo, format, platform: image.platform, layers: image.layers }),
    );
  }
  const index = imageIndex(
    format,
    images.map((i) => ({
      mediaType: i.manifest.mediaType,
      digest: i.manifest.digest,
      size: i.manifest.size,
      platform: i.platform,
    })),
  );
  await client.putManifest(spec.repo, spec.tag, index);
  const totalBytes = images.reduce((a, i) => a + i.totalBytes, index.size);
  return { repo: spec.repo, reference: `${spec.repo}:${spec.tag}`, index, images, totalBytes };
}
