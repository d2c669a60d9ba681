/**
 * Rules between sidecar options, which no single declaration can state. The sidecar applies them at
 * start and the controller to the options it copies, so a value the sidecar would refuse stops the
 * controller instead of every injected pod.
 */
import { ConfigError, describeOption } from "../lib/config/config-error.ts";
import { sidecarOption } from "./sidecar-options.ts";

export type CacheMode = "memory" | "disk";
export type LogLevel = "debug" | "info" | "warn" | "error";

export const DEFAULT_MEMORY_CACHE_BYTES = 512 * 1024 * 1024;
const GiB = 1024 * 1024 * 1024;

/**
 * The memory cache's hard cap in bytes (design.md): memoryCacheCapacityGB wins, else optionBlockSize,
 * else 512 MiB; both set and different is an error.
 */
export function resolveMemoryCap(gb: number | undefined, bytes: number | undefined): number {
  const fromGB = gb === undefined ? undefined : Math.floor(gb * GiB);
  if (fromGB !== undefined && bytes !== undefined && fromGB !== bytes) {
    const a = describeOption(sidecarOption("memoryCacheCapacityGB"));
    const b = describeOption(sidecarOption("optionBlockSizeBytes"));
    throw new ConfigError(
      "memoryCacheCapacityGB",
      `${a} = ${gb} GiB (${fromGB} bytes) and ${b} = ${bytes} bytes disagree; set one of them`,
    );
  }
  const cap = fromGB ?? bytes ?? DEFAULT_MEMORY_CACHE_BYTES;
  if (cap <= 0) {
    throw new ConfigError(
      "memoryCacheCapacityGB",
      `${describeOption(sidecarOption("memoryCacheCapacityGB"))}: the memory cache needs a positive size`,
    );
  }
  return cap;
}

export interface SidecarPorts {
  readonly port: number;
  readonly peerPort: number;
  readonly healthPort: number;
  /**
   * Where the registry front listens, and the pod IP: the front may reuse the peer or health port on
   * another address. Unknown (the controller, for every pod): all three ports must differ.
   */
  readonly listenHost?: string;
  readonly podIP?: string;
}

/** The peer and health servers share the pod IP; the front collides with them on the same address. */
export function checkSidecarPorts(p: SidecarPorts): void {
  if (p.peerPort === p.healthPort) {
    throw ConfigError.forSpec(
      sidecarOption("healthPort"),
      `same port as ${describeOption(sidecarOption("peerPort"))}`,
    );
  }
  const sameAddress = p.listenHost === undefined || p.listenHost === p.podIP || p.listenHost === "0.0.0.0";
  if (sameAddress && (p.port === p.peerPort || p.port === p.healthPort)) {
    throw ConfigError.forSpec(
      sidecarOption("port"),
      "collides with the peer or health port on the same address",
    );
  }
}
