/**
 * The images' base layer, staged from pinned Debian packages (debian-packages.txt): each .deb is fetched
 * once with `apt-get download NAME=VERSION` into the cache, checked against its pinned sha256 and
 * unpacked with `dpkg-deb -x`. What Node does not load goes (gconv modules, lintian overrides, gdb and
 * Python helpers, docs other than copyright files); the files a non-root image needs are added:
 * /etc/passwd and /etc/group with `nonroot` (65532), /etc/nsswitch.conf, /tmp (1777).
 * No CA bundle or time zone data: Node carries its own root certificates and ICU.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const PINS_FILE = fileURLToPath(new URL("./debian-packages.txt", import.meta.url));
export const NONROOT_UID = 65532;

export interface DebianPin {
  readonly name: string;
  readonly version: string;
  readonly sha256: string;
}

export function readPins(file = PINS_FILE): DebianPin[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const [name, version, sha256, extra] = line.split(/\s+/);
      if (!name || !version || !/^[0-9a-f]{64}$/.test(sha256 ?? "") || extra !== undefined)
        throw new Error(`${file}: expected "name version sha256", got ${JSON.stringify(line)}`);
      return { name, version, sha256: sha256! };
    });
}

/** Paths (relative to the staged root) removed after unpacking: nothing Node loads. */
const PRUNED = ["usr/lib/x86_64-linux-gnu/gconv", "usr/share/lintian", "usr/share/gcc", "usr/share/gdb"];

const ETC_FILES: Record<string, string> = {
  "etc/passwd": `root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:${NONROOT_UID}:${NONROOT_UID}:nonroot:/home/nonroot:/sbin/nologin\n`,
  "etc/group": `root:x:0:\nnonroot:x:${NONROOT_UID}:\n`,
  "etc/nsswitch.conf": "passwd: files\ngroup: files\nhosts: files dns\n",
};

function run(cmd: string, args: string[], cwd?: string): void {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8" });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${r.stderr.trim()}`);
}

function sha256File(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

/** The pinned .deb from the cache, fetched with apt-get download when missing (unless offline). */
function fetchDeb(pin: DebianPin, debCache: string, offline: boolean): string {
  const file = join(debCache, `${pin.name}_${pin.version}_amd64.deb`);
  if (!existsSync(file) && offline)
    throw new Error(
      `${file} is not cached and downloads are off: run 'npm run images' once (it fetches the pinned packages)`,
    );
  if (!existsSync(file)) {
    const work = join(debCache, `.download-${process.pid}`);
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    try {
      const r = spawnSync("apt-get", ["download", "-q", `${pin.name}=${pin.version}`], {
        cwd: work,
        encoding: "utf8",
      });
      if (r.status !== 0)
        throw new Error(
          `apt-get download ${pin.name}=${pin.version} failed (${r.stderr.trim() || r.error?.message}); ` +
            `run 'apt-get update', or pin a version the archive still has in ${PINS_FILE}`,
        );
      const [got] = readdirSync(work).filter((f) => f.endsWith(".deb"));
      if (!got) throw new Error(`apt-get download ${pin.name}=${pin.version} wrote no .deb`);
      renameSync(join(work, got), file);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  const actual = sha256File(file);
  if (actual !== pin.sha256) {
    rmSync(file);
    throw new Error(`${pin.name}=${pin.version}: sha256 ${actual}, pinned ${pin.sha256} in ${PINS_FILE}`);
  }
  return file;
}

/** Keeps only the copyright files (and links) under usr/share/doc: the licenses travel with the code. */
function pruneDocs(root: string): void {
  const docs = join(root, "usr/share/doc");
  if (!existsSync(docs)) return;
  for (const pkg of readdirSync(docs, { withFileTypes: true })) {
    if (!pkg.isDirectory()) continue;
    for (const entry of readdirSync(join(docs, pkg.name))) {
      if (entry !== "copyright") rmSync(join(docs, pkg.name, entry), { recursive: true, force: true });
    }
  }
}

/** Stages the base root file system into `root` (emptied first). */
export function stageDebianBase(
  root: string,
  opts: { debCache: string; offline: boolean },
  pins = readPins(),
): void {
  const { debCache, offline } = opts;
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  mkdirSync(debCache, { recursive: true });
  for (const pin of pins) run("dpkg-deb", ["-x", fetchDeb(pin, debCache, offline), root]);
  for (const path of PRUNED) rmSync(join(root, path), { recursive: true, force: true });
  pruneDocs(root);
  // Modes are set, not left to the umask, so every machine stages the same tree.
  chmodSync(root, 0o755);
  for (const dir of ["etc", "tmp"]) mkdirSync(join(root, dir), { recursive: true });
  chmodSync(join(root, "etc"), 0o755);
  chmodSync(join(root, "tmp"), 0o1777);
  for (const [path, text] of Object.entries(ETC_FILES)) {
    writeFileSync(join(root, path), text);
    chmodSync(join(root, path), 0o644);
  }
}
