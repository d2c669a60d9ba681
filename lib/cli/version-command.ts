/**
 * `acr-p2p version`: the release, the git revision it was built from, and the Node runtime. The image
 * bundles carry the first two as constants (hack/images/bundle.ts defines them); run from the sources,
 * they come from package.json and git.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function sourceVersion(): string {
  try {
    return (JSON.parse(readFileSync(`${ROOT}package.json`, "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

function sourceRevision(): string {
  const git = spawnSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8" });
  return git.status === 0 ? git.stdout.trim() : "unknown";
}

export function versionText(): string {
  const version = process.env.ACR_P2P_BUILD_VERSION ?? sourceVersion();
  const revision = process.env.ACR_P2P_BUILD_REVISION ?? sourceRevision();
  return `acr-p2p ${version}\nrevision: ${revision}\nnode: ${process.version}\n`;
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length > 0 && !(argv.length === 1 && (argv[0] === "--help" || argv[0] === "-h"))) {
    process.stderr.write(`acr-p2p version: takes no arguments, got ${JSON.stringify(argv.join(" "))}\n`);
    return 2;
  }
  process.stdout.write(
    argv.length === 1
      ? "usage: acr-p2p version\n\nPrints the release, its git revision and the Node version.\n"
      : versionText(),
  );
  return 0;
}
