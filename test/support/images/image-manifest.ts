/**
 * Image config, manifest and index documents (OCI or Docker schema 2), as exact bytes with digests.
 *
 *   imageConfig(platform, diffIds) -> JsonBlob
 *   imageManifest(format, config, layers) -> JsonBlob
 *   imageIndex(format, entries) -> JsonBlob
 *   MEDIA_TYPES[format]
 *
 * Everything is deterministic (fixed timestamps), so the same spec always gives the same digests.
 */
import { createHash } from "node:crypto";

export type ManifestFormat = "oci" | "docker";

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
}

/** A JSON document as the exact bytes pushed, with its descriptor. */
export interface JsonBlob extends Descriptor {
  bytes: Buffer;
}

export const MEDIA_TYPES = {
  oci: {
    config: "application/vnd.oci.image.config.v1+json",
    layer: "application/vnd.oci.image.layer.v1.tar+gzip",
    manifest: "application/vnd.oci.image.manifest.v1+json",
    index: "application/vnd.oci.image.index.v1+json",
  },
  docker: {
    config: "application/vnd.docker.container.image.v1+json",
    layer: "application/vnd.docker.image.rootfs.diff.tar.gzip",
    manifest: "application/vnd.docker.distribution.manifest.v2+json",
    index: "application/vnd.docker.distribution.manifest.list.v2+json",
  },
} as const;

export function jsonBlob(mediaType: string, doc: object): JsonBlob {
  const bytes = Buffer.from(JSON.stringify(doc, null, 2));
  return {
    mediaType,
    bytes,
    size: bytes.length,
    digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}`,
  };
}

function descriptorOf(d: Descriptor): Descriptor {
  const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.platform) out.platform = d.platform;
  return out;
}

export function imageConfig(format: ManifestFormat, platform: Platform, diffIds: string[]): JsonBlob {
  return jsonBlob(MEDIA_TYPES[format].config, {
    created: "2024-01-01T00:00:00Z",
    ...platform,
    config: {
      Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      Cmd: ["/bin/true"],
    },
    rootfs: { type: "layers", diff_ids: diffIds },
    history: diffIds.map((_, i) => ({
      created: "2024-01-01T00:00:00Z",
      created_by: `acr-p2p test layer ${i}`,
    })),
  });
}

export function imageManifest(format: ManifestFormat, config: Descriptor, layers: Descriptor[]): JsonBlob {
  const type = MEDIA_TYPES[format].manifest;
  return jsonBlob(type, {
    schemaVersion: 2,
    mediaType: type,
    config: descriptorOf(config),
    layers: layers.map(descriptorOf),
  });
}

export function imageIndex(format: ManifestFormat, manifests: Descriptor[]): JsonBlob {
  const type = MEDIA_TYPES[format].index;
  return jsonBlob(type, { schemaVersion: 2, mediaType: type, manifests: manifests.map(descriptorOf) });
}
