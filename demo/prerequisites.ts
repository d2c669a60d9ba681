/**
 * What the demo runs that npm does not bring: Debian's docker-registry (the origin) and skopeo (the pull
 * client). Installed with apt-get when missing and the user is root; otherwise the exact command is
 * printed and the demo stops.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const PACKAGES: ReadonlyArray<{ readonly pkg: string; readonly binary: string }> = [
  { pkg: "docker-registry", binary: "/usr/bin/docker-registry" },
  { pkg: "skopeo", binary: "/usr/bin/skopeo" },
  // setpriv: every process the demo starts dies with it, even when it is killed.
  { pkg: "util-linux", binary: "/usr/bin/setpriv" },
];

export class MissingPackagesError extends Error {}

/** Resolves when every package is there; throws MissingPackagesError with the command to run. */
export function ensurePackages(log: (line: string) => void): void {
  const missing = PACKAGES.filter((p) => !existsSync(p.binary)).map((p) => p.pkg);
  if (missing.length === 0) return;
  const install = ["apt-get", "install", "-y", "--no-install-recommends", ...missing];
  if (process.getuid?.() !== 0) {
    throw new MissingPackagesError(
      `the demo needs ${missing.join(", ")} (Debian packages). Install them and run it again:\n` +
        `  sudo apt-get update && sudo ${install.join(" ")}`,
    );
  }
  log(`installing ${missing.join(", ")} with apt-get`);
  for (const cmd of [["apt-get", "update", "-qq"], install]) {
    const r = spawnSync(cmd[0]!, cmd.slice(1), {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    if (r.status !== 0) throw new MissingPackagesError(`${cmd.join(" ")} failed (exit ${r.status})`);
  }
}
