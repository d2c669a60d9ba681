/** `acr-p2p version`: the release, the git revision it was built from, and the Node runtime. */
import { buildInfo } from "../build-info.ts";

export function versionText(): string {
  const { version, revision, node } = buildInfo();
  return `acr-p2p ${version}\nrevision: ${revision}\nnode: ${node}\n`;
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
