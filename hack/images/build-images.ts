/**
 * `npm run images [-- --out DIR] [--push REGISTRY/PREFIX [--push-insecure]]`: the sidecar and controller
 * images as OCI image layouts, built without a container engine, the same digests from the same commit.
 *
 * Each image is three layers:
 *   base  Debian packages the Node binary links against, plus a non-root user (debian-base.ts);
 *   node  the Node 24 binary of the `node` devDependency (npm registry), stripped of symbols;
 *   app   the image's bundle (bundle.ts) and its license notes, in /app.
 * base and node are the same in both images (a node pulling both stores them once) and are cached by
 * the hash of their inputs under ~/.cache/acr-p2p/image-layers: gzipping Node costs ~12 s, done once.
 *
 * --push copies each layout with skopeo to REGISTRY/PREFIX/{sidecar,controller}:VERSION (skopeo's own
 * credentials: `skopeo login REGISTRY`) and prints the `helm install --set` flags naming the digests.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { SIDECAR_ENV, SIDECAR_NODE_FLAGS } from "../../sidecar/node-flags.ts";
import { bundle, type BundleName } from "./bundle.ts";
import { NONROOT_UID, PINS_FILE, stageDebianBase } from "./debian-base.ts";
import { tarLayer, type Layer } from "./layer.ts";
import { sourceFacts } from "./source-facts.ts";
import { writeImageLayout, type WrittenImage } from "./oci-layout.ts";

const ROOT = resolve(fileURLToPath(import.meta.url), "../../..");
const NODE_BINARY = join(ROOT, "node_modules/node/bin/node");
const NODE_PATH = "/usr/local/bin/node";

interface ImageSpec {
  readonly bundle: BundleName;
  /** Env beyond PATH and NODE_ENV. */
  readonly env: Readonly<Record<string, string>>;
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly description: string;
}

export const IMAGES: Readonly<Record<BundleName, ImageSpec>> = {
  sidecar: {
    bundle: "sidecar",
    env: SIDECAR_ENV,
    // The pod spec the webhook injects passes `args: [sidecar]`, which replaces Cmd only.
    entrypoint: [NODE_PATH, ...SIDECAR_NODE_FLAGS, "/app/sidecar.mjs"],
    cmd: ["sidecar"],
    description: "acr-p2p sidecar: pull-through P2P registry on 127.0.0.1, injected into pods",
  },
  controller: {
    bundle: "controller",
    env: {},
    entrypoint: [NODE_PATH, "/app/controller.mjs"],
    cmd: ["webhook"],
    description: "acr-p2p controller: admission webhook, peer directory, certgen",
  },
};

export interface BuildOptions {
  /** Where the layouts go: OUT/sidecar and OUT/controller. */
  readonly out: string;
  /** Layer and .deb cache (default $ACR_P2P_CACHE, else ~/.cache/acr-p2p as hack/ci-deps.sh uses). */
  readonly cache?: string;
  /** Where base and node layers are cached (default CACHE/image-layers). */
  readonly layerCache?: string;
  /** Never download: a .deb missing from the cache is an error (tests send nothing off the machine). */
  readonly offline?: boolean;
  readonly log?: (line: string) => void;
}

export interface BuiltImage extends WrittenImage {
  readonly name: BundleName;
  /** The tag (package.json's version): the layout's ref name, and the tag --push uses. */
  readonly tag: string;
}

function fileSha256(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

function keyOf(...parts: string[]): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(`${part.length}:${part}`);
  return hash.digest("hex").slice(0, 32);
}

/** A layer from the cache when its inputs' key is there, otherwise staged by `stage` and cached. */
async function cachedLayer(dir: string, key: string, stage: (dir: string) => void): Promise<Layer> {
  const file = join(dir, `${key}.tar.gz`);
  const meta = join(dir, `${key}.json`);
  if (existsSync(file) && existsSync(meta))
    return { ...(JSON.parse(readFileSync(meta, "utf8")) as Layer), file };
  mkdirSync(dir, { recursive: true });
  const staging = join(dir, `${key}.staging-${process.pid}`);
  try {
    stage(staging);
    const built = await tarLayer(staging, `${file}.${process.pid}`);
    renameSync(built.file, file);
    writeFileSync(meta, JSON.stringify({ ...built, file }));
    return { ...built, file };
  } finally {
    rmSync(staging, { recursive: true, force: true });
    rmSync(`${file}.${process.pid}`, { force: true });
  }
}

function stageNode(dir: string): void {
  mkdirSync(join(dir, "usr/local/bin"), { recursive: true });
  for (const d of ["usr", "usr/local", "usr/local/bin"]) chmodSync(join(dir, d), 0o755);
  const target = join(dir, NODE_PATH);
  // Symbols and debug info are a quarter of the binary and nothing at run time needs them.
  const r = spawnSync("strip", ["-o", target, NODE_BINARY], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`strip ${NODE_BINARY}: ${r.stderr?.trim() || r.error?.message}`);
  chmodSync(target, 0o755);
}

function stageApp(dir: string, bundleFile: string): void {
  mkdirSync(join(dir, "app"), { recursive: true });
  chmodSync(dir, 0o755);
  chmodSync(join(dir, "app"), 0o755);
  for (const file of [bundleFile, `${bundleFile}.LEGAL.txt`]) {
    if (!existsSync(file)) continue;
    const target = join(dir, "app", file.slice(file.lastIndexOf("/") + 1));
    copyFileSync(file, target);
    chmodSync(target, 0o644);
  }
}

export async function buildImages(opts: BuildOptions): Promise<BuiltImage[]> {
  const log = opts.log ?? (() => undefined);
  const cacheDir =
    opts.cache ??
    process.env.ACR_P2P_CACHE ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "acr-p2p");
  const { version, revision, created, source } = sourceFacts();
  const here = (name: string) => readFileSync(fileURLToPath(new URL(name, import.meta.url)), "utf8");
  const layerCache = opts.layerCache ?? join(cacheDir, "image-layers");

  log("base layer (Debian packages)");
  const base = await cachedLayer(
    layerCache,
    keyOf("base", readFileSync(PINS_FILE, "utf8"), here("./debian-base.ts"), here("./layer.ts")),
    (dir) => stageDebianBase(dir, { debCache: join(cacheDir, "debs"), offline: opts.offline ?? false }),
  );
  log("node layer");
  const nodeLayer = await cachedLayer(
    layerCache,
    keyOf("node", fileSha256(NODE_BINARY), NODE_PATH, stageNode.toString(), here("./layer.ts")),
    stageNode,
  );
  const work = join(opts.out, ".work");
  mkdirSync(work, { recursive: true });
  const built: BuiltImage[] = [];
  try {
    for (const [name, spec] of Object.entries(IMAGES) as [BundleName, ImageSpec][]) {
      log(`${name}: bundle and app layer`);
      const made = await bundle(spec.bundle, join(work, "bundles"));
      const appDir = join(work, `app-${name}`);
      rmSync(appDir, { recursive: true, force: true });
      stageApp(appDir, made.file);
      const app = await tarLayer(appDir, join(work, `app-${name}.tar.gz`));
      const image = writeImageLayout(join(opts.out, name), {
        layers: [base, nodeLayer, app],
        refName: version,
        config: {
          created,
          User: `${NONROOT_UID}:${NONROOT_UID}`,
          Env: [
            "PATH=/usr/local/bin:/usr/bin:/bin",
            "NODE_ENV=production",
            ...Object.entries(spec.env).map(([name, value]) => `${name}=${value}`),
          ],
          Entrypoint: spec.entrypoint,
          Cmd: spec.cmd,
          WorkingDir: "/app",
          Labels: {
            "org.opencontainers.image.title": `acr-p2p-${name}`,
            "org.opencontainers.image.description": spec.description,
            "org.opencontainers.image.version": version,
            "org.opencontainers.image.revision": revision,
            "org.opencontainers.image.licenses": "Apache-2.0",
            ...(source ? { "org.opencontainers.image.source": source } : {}),
          },
        },
      });
      built.push({ ...image, name, tag: version });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return built;
}

/** Pushes one layout with skopeo; resolves with the pushed reference. */
export function pushImage(image: BuiltImage, prefix: string, insecure: boolean): string {
  const target = `${prefix}/${image.name}:${image.tag}`;
  const args = [
    "copy",
    "--quiet",
    ...(insecure ? ["--dest-tls-verify=false"] : []),
    `oci:${image.dir}:${image.tag}`,
    `docker://${target}`,
  ];
  const r = spawnSync("skopeo", args, { encoding: "utf8" });
  if (r.error) throw new Error(`skopeo: ${r.error.message} (install it: apt-get install skopeo)`);
  if (r.status !== 0) throw new Error(`skopeo copy to ${target} failed: ${r.stderr.trim()}`);
  return target;
}

const MB = 1e6;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      out: { type: "string", default: join(ROOT, "dist/images") },
      push: { type: "string" },
      "push-insecure": { type: "boolean", default: false },
      offline: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      "usage: npm run images -- [--out DIR] [--push REGISTRY/PREFIX [--push-insecure]] [--offline]\n\n" +
        "Builds the sidecar and controller images as OCI layouts in DIR/sidecar and DIR/controller\n" +
        "(default dist/images). --push copies them to REGISTRY/PREFIX/{sidecar,controller}:VERSION with\n" +
        "skopeo (log in first: skopeo login REGISTRY) and prints the helm --set flags for their digests;\n" +
        "--push-insecure allows a plain-HTTP or self-signed registry. --offline never downloads (the\n" +
        "pinned Debian packages must be cached by an earlier run).\n",
    );
    return 0;
  }
  const prefix = values.push?.replace(/\/+$/, "");
  if (prefix !== undefined && !/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)*$/.test(prefix))
    throw new Error(
      `--push ${JSON.stringify(values.push)}: expected REGISTRY/PREFIX, e.g. registry.example.com/acr-p2p`,
    );
  const started = performance.now();
  const images = await buildImages({
    out: resolve(values.out),
    offline: values.offline,
    log: (line) => process.stderr.write(`images: ${line}\n`),
  });
  for (const image of images) {
    const compressed = image.layers.reduce((sum, l) => sum + l.size, 0);
    const uncompressed = image.layers.reduce((sum, l) => sum + l.uncompressedSize, 0);
    process.stdout.write(
      `${image.name.padEnd(10)} ${image.manifest.digest}  ${(compressed / MB).toFixed(1)} MB compressed, ` +
        `${(uncompressed / MB).toFixed(1)} MB uncompressed  oci:${image.dir}:${image.tag}\n`,
    );
  }
  process.stderr.write(`images: built in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  if (prefix === undefined) return 0;
  for (const image of images) {
    process.stderr.write(`images: pushed ${pushImage(image, prefix, values["push-insecure"])}\n`);
  }
  const byName = Object.fromEntries(images.map((i) => [i.name, i.manifest.digest]));
  process.stdout.write(
    `\nhelm install flags:\n` +
      `  --set controller.image.repository=${prefix}/controller --set controller.image.digest=${byName.controller}\n` +
      `  --set sidecar.image.repository=${prefix}/sidecar --set sidecar.image.digest=${byName.sidecar}\n`,
  );
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      process.stderr.write(`images: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
