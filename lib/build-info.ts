/**
 * What this process was built from: the release, the git revision and the Node runtime. The image
 * bundles carry the first two as constants (hack/images/bundle.ts defines them at build time); run
 * from the sources they come from package.json and git. `acr-p2p version` prints them and both
 * processes export them as `acr_p2p_build_info`.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Gauge, type Registry } from "prom-client";

export interface BuildInfo {
  readonly version: string;
  readonly revision: string;
  readonly node: string;
}

const ROOT = fileURLToPath(new URL("../", import.meta.url));

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

let memo: BuildInfo | undefined;

export function buildInfo(): BuildInfo {
  memo ??= {
    version: process.env.ACR_P2P_BUILD_VERSION ?? sourceVersion(),
    revision: process.env.ACR_P2P_BUILD_REVISION ?? sourceRevision(),
    node: process.version,
  };
  return memo;
}

/** `acr_p2p_build_info{component, version, revision, node}` = 1, on `registry`. */
export function registerBuildInfo(registry: Registry, component: "sidecar" | "controller"): void {
  const info = buildInfo();
  new Gauge({
    name: "acr_p2p_build_info",
    help: "Always 1; its labels say what runs: the component, its release, git revision and Node version.",
    labelNames: ["component", "version", "revision", "node"],
    registers: [registry],
  }).set({ component, ...info }, 1);
}
