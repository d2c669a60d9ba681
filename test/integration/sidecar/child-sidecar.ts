/**
 * The sidecar as a real child process (`node bin/acr-p2p.ts sidecar ...`), for what only a separate
 * process can show: its resident memory under load, its CPU time, its CLI. Waits for /readyz.
 */
import { join } from "node:path";
import { encodeHostForPath } from "../../../contract/registry-host.ts";
import { SIDECAR_ENV, SIDECAR_NODE_FLAGS } from "../../../sidecar/node-flags.ts";
import { cpuTimesOf, memoryBytesOf, type CpuTimes } from "../../support/process-stats.ts";
import {
  freePort,
  makeTempDir,
  spawnManaged,
  waitUntil,
  type ManagedProcess,
} from "../../support/origin/child-process.ts";
import type { Origin } from "../../support/origin/origin-stack.ts";
import { sidecarArgs } from "./sidecar-harness.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;

export interface ChildSidecar {
  readonly process: ManagedProcess;
  readonly pid: number;
  readonly url: string;
  readonly host: string;
  readonly healthUrl: string;
  readonly imagePrefix: string;
  readonly apiPrefix: string;
  /** VmRSS from /proc/PID/status, in bytes. */
  rssBytes(): number;
  /** utime and stime from /proc/PID/stat, in seconds. */
  cpuTimes(): CpuTimes;
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * `entry` is the script node runs with the `sidecar` command: the sources by default, or the bundle
 * the sidecar image runs (hack/images/bundle.ts) where what ships is measured.
 */
export async function startChildSidecar(
  origin: Origin,
  extraArgs: readonly string[] = [],
  env: NodeJS.ProcessEnv = process.env,
  entry: string = join(ROOT, "bin/acr-p2p.ts"),
): Promise<ChildSidecar> {
  const port = await freePort();
  const healthPort = await freePort();
  const dir = makeTempDir("sidecar-child");
  const args = [
    ...SIDECAR_NODE_FLAGS,
    entry,
    "sidecar",
    ...sidecarArgs(origin, extraArgs),
    "--port",
    String(port),
    "--health-port",
    String(healthPort),
    "--log-level",
    "warn",
  ];
  const proc = spawnManaged(process.execPath, args, {
    logPath: join(dir, "sidecar.log"),
    env: { ...env, ...SIDECAR_ENV },
  });
  const healthUrl = `http://127.0.0.1:${healthPort}`;
  try {
    await waitUntil(
      async () => {
        if (!proc.running) throw new Error(`sidecar exited: ${proc.logTail()}`);
        try {
          const res = await fetch(`${healthUrl}/readyz`, { signal: AbortSignal.timeout(1000) });
          await res.body?.cancel();
          return res.status === 200;
        } catch {
          return false;
        }
      },
      20_000,
      () => `sidecar not ready: ${proc.logTail()}`,
    );
  } catch (err) {
    await proc.stop();
    throw err;
  }
  const pid = proc.child.pid!;
  const host = `127.0.0.1:${port}`;
  const encoded = encodeHostForPath(origin.proxy.host);
  return {
    process: proc,
    pid,
    url: `http://${host}`,
    host,
    healthUrl,
    imagePrefix: `${host}/${encoded}`,
    apiPrefix: `/v2/${encoded}`,
    rssBytes: () => memoryBytesOf(pid, "VmRSS"),
    cpuTimes: () => cpuTimesOf(pid),
    metrics: async () => (await fetch(`${healthUrl}/metrics`)).text(),
    stop: () => proc.stop(),
  };
}

/** A sample's value from Prometheus text, e.g. metricValue(text, "acr_p2p_cache_evictions_total"). */
export function metricValue(text: string, name: string, labels = ""): number {
  const line = text
    .split("\n")
    .find((l) => l.startsWith(`${name}${labels} `) || l.startsWith(`${name}${labels}{`));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : NaN;
}
