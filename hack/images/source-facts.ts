/**
 * What the images say about the tree they were built from, read once per build: package.json's
 * version, the commit (`-dirty` when tracked files are modified), the commit's time (the images'
 * `created`, so equal commits give equal digests) and the `origin` remote, when there is one. The
 * bundles carry version and revision for `acr-p2p version`; the image labels carry all four.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(fileURLToPath(import.meta.url), "../../..");

export interface SourceFacts {
  readonly version: string;
  readonly revision: string;
  /** ISO 8601 time of the commit. */
  readonly created: string;
  readonly source: string | undefined;
}

function git(args: string[]): string | undefined {
  const r = spawnSync("git", args, { cwd: ROOT, encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

let memo: SourceFacts | undefined;

export function sourceFacts(): SourceFacts {
  if (memo) return memo;
  const head = git(["rev-parse", "HEAD"]);
  const dirty = (git(["status", "--porcelain", "--untracked-files=no"]) ?? "") !== "";
  memo = {
    version: (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version,
    revision: head === undefined ? "unknown" : `${head}${dirty ? "-dirty" : ""}`,
    created: git(["log", "-1", "--format=%cI"]) ?? "1970-01-01T00:00:00Z",
    source: git(["remote", "get-url", "origin"]),
  };
  return memo;
}
