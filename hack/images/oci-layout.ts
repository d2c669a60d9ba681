/**
 * Writes an OCI image layout (https://github.com/opencontainers/image-spec/blob/main/image-layout.md):
 * `oci-layout`, `index.json` naming one manifest, and `blobs/sha256/` holding the manifest, the config
 * and the layers. JSON is written with sorted keys, so equal inputs give equal digests.
 */
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Layer } from "./layer.ts";

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** The parts of an OCI image config the recipe sets (https://github.com/opencontainers/image-spec/blob/main/config.md). */
export interface ImageConfig {
  readonly created: string;
  readonly User: string;
  readonly Env: readonly string[];
  readonly Entrypoint: readonly string[];
  readonly Cmd: readonly string[];
  readonly WorkingDir: string;
  readonly Labels: Readonly<Record<string, string>>;
}

export interface WrittenImage {
  readonly dir: string;
  /** The manifest's descriptor: its digest is the image's digest in a registry. */
  readonly manifest: Descriptor;
  readonly config: Descriptor;
  /** The layers, their files in the layout's blobs. */
  readonly layers: readonly Layer[];
}

const MEDIA = {
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar+gzip",
  index: "application/vnd.oci.image.index.v1+json",
} as const;

/** JSON with object keys in sorted order at every depth. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

function sha256(bytes: string | Buffer): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

function blobPath(dir: string, digest: string): string {
  return join(dir, "blobs", "sha256", digest.slice("sha256:".length));
}

function writeJsonBlob(dir: string, mediaType: string, value: unknown): Descriptor {
  const text = canonicalJson(value);
  const digest = sha256(text);
  writeFileSync(blobPath(dir, digest), text);
  return { mediaType, digest, size: Buffer.byteLength(text) };
}

/**
 * Writes the layout into `dir` (emptied first). `refName` becomes the index entry's
 * `org.opencontainers.image.ref.name` (what `ctr images import` and `skopeo copy oci:DIR:REF` look for).
 */
export function writeImageLayout(
  dir: string,
  opts: { layers: readonly Layer[]; config: ImageConfig; refName: string },
): WrittenImage {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
  for (const layer of opts.layers) copyFileSync(layer.file, blobPath(dir, layer.digest));
  const { created, Labels, ...runtime } = opts.config;
  const config = writeJsonBlob(dir, MEDIA.config, {
    architecture: "amd64",
    os: "linux",
    created,
    config: { ...runtime, Labels },
    rootfs: { type: "layers", diff_ids: opts.layers.map((l) => l.diffId) },
    history: opts.layers.map(() => ({ created, created_by: "npm run images" })),
  });
  const manifest = writeJsonBlob(dir, MEDIA.manifest, {
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    config,
    layers: opts.layers.map((l) => ({ mediaType: MEDIA.layer, digest: l.digest, size: l.size })),
    annotations: { ...Labels, "org.opencontainers.image.created": created },
  });
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA.index,
    manifests: [{ ...manifest, annotations: { "org.opencontainers.image.ref.name": opts.refName } }],
  };
  writeFileSync(join(dir, "index.json"), canonicalJson(index));
  writeFileSync(join(dir, "oci-layout"), canonicalJson({ imageLayoutVersion: "1.0.0" }));
  const layers = opts.layers.map((l) => ({ ...l, file: blobPath(dir, l.digest) }));
  return { dir, manifest, config, layers };
}
