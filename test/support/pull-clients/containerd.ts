/**
 * A private containerd daemon (Debian's containerd 1.6, run as root) and `ctr` as a real pull client.
 *
 *   startContainerd({snapshotter?}) -> Containerd     own config, root, state and sockets in a temp dir
 *   ctrd.pullWithCtr(ref, {plainHttp?, user?, platform?, allPlatforms?, unpack?, timeoutMs?}) -> CommandResult
 *   ctrd.listContent() -> ContentEntry[]             `ctr content ls`: digest, size
 *   ctrd.listImages() -> ImageEntry[]                `ctr images ls`: name, digest, size, platforms
 *   ctrd.contentPath(digest) -> string               the blob file, to hash what was pulled
 *   ctrd.removeAllImages()                           removes images and waits for content GC
 *   ctrd.importLayout(dir, baseName) -> string       imports an OCI image layout; its image name
 *   ctrd.ctr(args, timeoutMs?) -> CommandResult      any other ctr command
 *   ctrd.stop()                                      SIGTERM (SIGKILL after grace), temp dir removed
 *
 * `unpack: false` uses `ctr content fetch` (download and verify only); the default `images pull`
 * also unpacks into the snapshotter, which needs valid tar+gzip layers and matching diff_ids.
 * Several daemons can run at once: every path containerd writes is under its temp dir.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  makeTempDir,
  removeTempDir,
  runCommand,
  spawnManaged,
  waitForSystemPackages,
  waitUntil,
  type CommandResult,
  type ManagedProcess,
} from "../origin/child-process.ts";

export const CONTAINERD_BINARY = "/usr/bin/containerd";
export const CTR_BINARY = "/usr/bin/ctr";

export type Snapshotter = "native" | "overlayfs";

export interface PullOptions {
  plainHttp?: boolean;
  /** `user:password` */
  user?: string;
  platform?: string;
  allPlatforms?: boolean;
  unpack?: boolean;
  timeoutMs?: number;
}

export interface ContentEntry {
  digest: string;
  size: number;
}

export interface ImageEntry {
  name: string;
  mediaType: string;
  digest: string;
  platforms: string[];
}

function configToml(dir: string): string {
  // Plugins that would reach outside the temp dir or need kernel features are disabled: the CRI
  // plugin (kubelet API, CNI) and snapshotters this rig never uses.
  return `version = 2
root = "${dir}/root"
state = "${dir}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "${dir}/containerd.sock"
[ttrpc]
  address = "${dir}/containerd.sock.ttrpc"
[debug]
  level = "info"
[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/opt"
`;
}

export class Containerd {
  readonly dir: string;
  readonly socket: string;
  readonly snapshotter: Snapshotter;
  readonly process: ManagedProcess;

  constructor(dir: string, snapshotter: Snapshotter, proc: ManagedProcess) {
    this.dir = dir;
    this.socket = join(dir, "containerd.sock");
    this.snapshotter = snapshotter;
    this.process = proc;
  }

  ctr(args: string[], timeoutMs = 60_000): Promise<CommandResult> {
    return runCommand(CTR_BINARY, ["-a", this.socket, ...args], { timeoutMs });
  }

  pullWithCtr(ref: string, opts: PullOptions = {}): Promise<CommandResult> {
    const unpack = opts.unpack ?? true;
    const args = unpack ? ["images", "pull", "--snapshotter", this.snapshotter] : ["content", "fetch"];
    if (opts.plainHttp) args.push("--plain-http");
    if (opts.user) args.push("--user", opts.user);
    if (opts.platform) args.push("--platform", opts.platform);
    if (opts.allPlatforms) args.push("--all-platforms");
    args.push(ref);
    return this.ctr(args, opts.timeoutMs ?? 120_000);
  }

  /**
   * Imports the OCI image layout in `dir` (its index's ref name is the tag) as `baseName:tag` and
   * resolves with that name. ctr wants the layout as a tar, and imports nothing (exit 0) without a ref name.
   */
  async importLayout(dir: string, baseName: string): Promise<string> {
    return importOciLayout((args) => this.ctr(args), this.dir, dir, baseName);
  }

  async listContent(): Promise<ContentEntry[]> {
    const res = await this.#ok(["content", "ls"]);
    return res.stdout
      .split("\n")
      .slice(1)
      .filter((l) => l.trim())
      .map((line) => {
        const digest = line.split(/\s+/)[0]!;
        // ctr prints rounded sizes; the blob file has the exact one.
        return { digest, size: statSync(this.contentPath(digest)).size };
      });
  }

  async listImages(): Promise<ImageEntry[]> {
    const res = await this.#ok(["images", "ls"]);
    return res.stdout
      .split("\n")
      .slice(1)
      .filter((l) => l.trim())
      .map((line) => {
        // REF TYPE DIGEST SIZE(2 words) PLATFORMS LABELS
        const cols = line.split(/\s+/);
        return {
          name: cols[0]!,
          mediaType: cols[1]!,
          digest: cols[2]!,
          platforms: (cols[5] ?? "").split(","),
        };
      });
  }

  contentPath(digest: string): string {
    const [alg, hex] = digest.split(":");
    return join(this.dir, "root", "io.containerd.content.v1.content", "blobs", alg!, hex!);
  }

  async removeAllImages(): Promise<void> {
    const names = (await this.listImages()).map((i) => i.name);
    if (names.length > 0) await this.#ok(["images", "rm", "--sync", ...names]);
    // Content fetched without an image (content fetch) has no GC root once its lease ends: prune it.
    const left = (await this.listContent()).map((c) => c.digest);
    if (left.length > 0) await this.#ok(["content", "rm", ...left]);
  }

  async stop(): Promise<void> {
    await this.process.stop(10_000);
    // No containers run, so nothing should stay mounted; unmount anything that did before removing.
    const mounts = readFileSync("/proc/self/mounts", "utf8")
      .split("\n")
      .map((l) => l.split(" ")[1] ?? "")
      .filter((m) => m.startsWith(this.dir + "/"))
      .reverse();
    for (const m of mounts) await runCommand("umount", ["-l", m], { timeoutMs: 10_000 });
    removeTempDir(this.dir);
  }

  async #ok(args: string[]): Promise<CommandResult> {
    const res = await this.ctr(args);
    if (res.code !== 0) throw new Error(`ctr ${args.join(" ")} failed (${res.code}): ${res.stderr}`);
    return res;
  }
}

/** Writes the OCI layout in `dir` as the tar `ctr images import` reads. */
export async function layoutTar(dir: string, tarFile: string): Promise<void> {
  const tar = await runCommand("tar", ["-C", dir, "-cf", tarFile, "."]);
  if (tar.code !== 0) throw new Error(`tar of ${dir} failed: ${tar.stderr}`);
}

/**
 * Imports the OCI layout in `layoutDir` with `ctr` (a runner that adds the socket, and the namespace
 * if any) as `baseName:<its ref name>`, and checks that ctr made that image (without a ref name ctr
 * imports nothing and still exits 0). `--digests` also names it `baseName@<digest>`, as a pod spec
 * pinned by digest looks it up. The tar goes to `scratchDir`.
 */
export async function importOciLayout(
  ctr: (args: string[]) => Promise<Pick<CommandResult, "code" | "stdout" | "stderr">>,
  scratchDir: string,
  layoutDir: string,
  baseName: string,
  opts: { digests?: boolean } = {},
): Promise<string> {
  const tarFile = join(scratchDir, `import-${Date.now()}.tar`);
  await layoutTar(layoutDir, tarFile);
  const args = ["images", "import", ...(opts.digests ? ["--digests"] : []), "--base-name", baseName, tarFile];
  const run = await ctr(args);
  if (run.code !== 0) throw new Error(`ctr ${args.join(" ")} failed (${run.code}): ${run.stderr}`);
  const index = JSON.parse(readFileSync(join(layoutDir, "index.json"), "utf8")) as {
    manifests: { annotations?: Record<string, string> }[];
  };
  const name = `${baseName}:${index.manifests[0]?.annotations?.["org.opencontainers.image.ref.name"]}`;
  const listed = await ctr(["images", "ls", "-q"]);
  if (!listed.stdout.split("\n").includes(name)) throw new Error(`ctr imported no ${name} from ${layoutDir}`);
  return name;
}

export async function startContainerd(
  opts: { snapshotter?: Snapshotter; startTimeoutMs?: number } = {},
): Promise<Containerd> {
  if (process.getuid?.() !== 0) throw new Error("startContainerd: containerd needs root (mounts, chown)");
  await waitForSystemPackages(CONTAINERD_BINARY);
  const dir = makeTempDir("containerd");
  const configPath = join(dir, "config.toml");
  writeFileSync(configPath, configToml(dir));
  const proc = spawnManaged(CONTAINERD_BINARY, ["--config", configPath], {
    logPath: join(dir, "containerd.log"),
  });
  const ctrd = new Containerd(dir, opts.snapshotter ?? "overlayfs", proc);
  try {
    await waitUntil(
      async () => {
        if (!proc.running) throw new Error(`containerd exited: ${proc.logTail()}`);
        if (!existsSync(ctrd.socket)) return false;
        return (await ctrd.ctr(["version"], 5000)).code === 0;
      },
      opts.startTimeoutMs ?? 20_000,
      () => `containerd not ready: ${proc.logTail()}`,
      100,
    );
  } catch (err) {
    await proc.stop();
    removeTempDir(dir);
    throw err;
  }
  return ctrd;
}
