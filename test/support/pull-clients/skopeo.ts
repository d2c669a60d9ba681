/**
 * skopeo (Debian's 1.9) as a second real pull client: copies an image to a `dir:` layout.
 *
 *   skopeoCopy(src, dir, {creds?, tlsVerify?, all?, timeoutMs?}) -> SkopeoCopyResult
 *     src      `127.0.0.1:PORT/repo:tag` (docker:// is added) or `docker://...`
 *     creds    `user:password`; omitted -> anonymous (--src-no-creds)
 *     all      copy every platform of an index (--all) instead of the current one
 *   result.run       exit code, stdout, stderr
 *   result.image     null unless skopeo succeeded: manifest bytes + digest, instance manifests, blobs
 *
 * Every blob file's sha256 is checked against its name, so "digests match" means the bytes match.
 * With tlsVerify false, skopeo may try https first and fall back to http; the TLS hello never
 * becomes an HTTP request, so the throttle proxy does not record it.
 */
import { createHash } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  makeTempDir,
  removeTempDir,
  runCommand,
  waitForSystemPackages,
  type CommandResult,
} from "../origin/child-process.ts";

export const SKOPEO_BINARY = "/usr/bin/skopeo";

export interface SkopeoCopyOptions {
  creds?: string;
  tlsVerify?: boolean;
  all?: boolean;
  timeoutMs?: number;
}

export interface DirImage {
  /** manifest.json: the image manifest, or the index with `all`. */
  manifest: Buffer;
  manifestDigest: string;
  /** With `all`: digest -> manifest bytes of each copied instance. */
  instances: Map<string, Buffer>;
  /** Digests of every blob file (layers and configs), each checked against its bytes. */
  blobs: string[];
}

export interface SkopeoCopyResult {
  run: CommandResult;
  image: DirImage | null;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest("hex")}`;
}

async function readDir(dir: string): Promise<DirImage> {
  const manifest = readFileSync(join(dir, "manifest.json"));
  const instances = new Map<string, Buffer>();
  const blobs: string[] = [];
  for (const name of readdirSync(dir)) {
    const instance = /^([a-f0-9]{64})\.manifest\.json$/.exec(name);
    if (instance) instances.set(`sha256:${instance[1]}`, readFileSync(join(dir, name)));
    if (!/^[a-f0-9]{64}$/.test(name)) continue;
    const digest = `sha256:${name}`;
    const actual = await sha256File(join(dir, name));
    if (actual !== digest) throw new Error(`skopeo dir: blob ${name} has digest ${actual}`);
    blobs.push(digest);
  }
  const manifestDigest = `sha256:${createHash("sha256").update(manifest).digest("hex")}`;
  return { manifest, manifestDigest, instances, blobs: blobs.sort() };
}

export async function skopeoCopy(
  src: string,
  dir: string,
  opts: SkopeoCopyOptions = {},
): Promise<SkopeoCopyResult> {
  await waitForSystemPackages(SKOPEO_BINARY);
  mkdirSync(dir, { recursive: true });
  // A private policy and auth file: the machine's ~/.docker or /etc/containers must not matter.
  const scratch = makeTempDir("skopeo");
  try {
    const policy = join(scratch, "policy.json");
    writeFileSync(policy, JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }));
    const args = ["--policy", policy, "copy", `--src-tls-verify=${opts.tlsVerify ?? false}`];
    args.push(...(opts.creds ? ["--src-creds", opts.creds] : ["--src-no-creds"]));
    if (opts.all) args.push("--all");
    const source = src.includes("://") ? src : `docker://${src}`;
    args.push(source, `dir:${dir}`);
    const env = { ...process.env, HOME: scratch, REGISTRY_AUTH_FILE: join(scratch, "auth.json") };
    const run = await runCommand(SKOPEO_BINARY, args, { timeoutMs: opts.timeoutMs ?? 120_000, env });
    const ok = run.code === 0 && existsSync(join(dir, "manifest.json"));
    return { run, image: ok ? await readDir(dir) : null };
  } finally {
    removeTempDir(scratch);
  }
}
