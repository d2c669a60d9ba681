/**
 * One image layer from a staged directory: a tar that depends only on the files' names, contents, modes
 * and link targets (GNU tar sorting entries by name, mtime 0, owner 0/0 by number), gzipped by Node's
 * zlib at level 9 (its header carries no timestamp or file name). Hashes of both the tar (the config's
 * diff_id) and the gzip (the layer's digest) are taken in the same pass.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream, readdirSync } from "node:fs";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";

export interface Layer {
  /** The gzipped tar on disk. */
  readonly file: string;
  /** sha256:... of the gzipped tar. */
  readonly digest: string;
  readonly size: number;
  /** sha256:... of the uncompressed tar. */
  readonly diffId: string;
  readonly uncompressedSize: number;
}

const TAR_FLAGS = [
  "--create",
  "--format=gnu",
  "--sort=name",
  "--mtime=@0",
  "--owner=0",
  "--group=0",
  "--numeric-owner",
];

class Hashing extends Transform {
  readonly hash = createHash("sha256");
  size = 0;
  override _transform(
    chunk: Buffer,
    _encoding: BufferEncoding,
    done: (err?: Error | null, data?: Buffer) => void,
  ): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    done(null, chunk);
  }
}

/** Tars the entries of `dir` (not `dir` itself: the image's / keeps its own mode) into `file`. */
export async function tarLayer(dir: string, file: string): Promise<Layer> {
  const entries = readdirSync(dir).sort();
  if (entries.length === 0) throw new Error(`layer ${dir} is empty`);
  const tar = spawn("tar", [...TAR_FLAGS, "-C", dir, "--", ...entries], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stderr: Buffer[] = [];
  tar.stderr.on("data", (b: Buffer) => stderr.push(b));
  const exited = new Promise<number | null>((resolve, reject) => {
    tar.once("error", reject);
    tar.once("close", resolve);
  });
  const raw = new Hashing();
  const gz = new Hashing();
  await pipeline(tar.stdout, raw, createGzip({ level: 9 }), gz, createWriteStream(file));
  const code = await exited;
  if (code !== 0) throw new Error(`tar of ${dir} exited ${code}: ${Buffer.concat(stderr).toString().trim()}`);
  return {
    file,
    digest: `sha256:${gz.hash.digest("hex")}`,
    size: gz.size,
    diffId: `sha256:${raw.hash.digest("hex")}`,
    uncompressedSize: raw.size,
  };
}
