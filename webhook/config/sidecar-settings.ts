/**
 * The sidecar settings the controller copies into every injected pod. They are validated at start by
 * the sidecar's own parser (sidecar/config), fed the env the controller would render, so a value the
 * sidecar would refuse stops the controller instead of every injected pod.
 */
import { SIDECAR_OPTIONS } from "../../lib/sidecar-options.ts";
import { loadSidecarConfig, type CacheMode } from "../../sidecar/config/sidecar-config.ts";
import type { RawOptions } from "../../lib/config/raw-options.ts";
import { COPIED_SIDECAR_KEYS } from "./webhook-options.ts";

export interface SidecarSettings {
  /** Copied options' text by option key, the memory cap excluded (see cacheBytes). */
  readonly copied: Readonly<Record<string, string>>;
  readonly port: number;
  readonly peerPort: number;
  readonly healthPort: number;
  readonly cacheMode: CacheMode;
  /** The memory cache's hard cap, resolved from memoryCacheCapacityGB / optionBlockSize / default. */
  readonly cacheBytes: number;
  /** Disk cache size (disk mode). */
  readonly capacityBytes: number;
  readonly blockSizeBytes: number;
  readonly proxyFsParallels: number;
  readonly plainHttpHosts: readonly string[];
  readonly peerSharing: boolean;
}

const CACHE_KEYS = new Set(["optionBlockSizeBytes", "memoryCacheCapacityGB"]);
// Placeholders for the per-pod values the sidecar's parser insists on.
const SAMPLE_POD_ENV = { ACR_P2P_POD_IP: "127.0.0.1", ACR_P2P_POD_NAMESPACE: "default" };
const SAMPLE_UPSTREAM = "registry.invalid";

export function buildSidecarSettings(raw: RawOptions): SidecarSettings {
  const env: Record<string, string> = { ...SAMPLE_POD_ENV };
  const copied: Record<string, string> = {};
  for (const spec of SIDECAR_OPTIONS) {
    if (!COPIED_SIDECAR_KEYS.includes(spec.key)) continue;
    const value = raw.values.get(spec.key);
    if (value === undefined) continue;
    const text = typeof value === "string" ? value : value.join(",");
    if (text === "") continue;
    env[spec.env] = text;
    if (!CACHE_KEYS.has(spec.key)) copied[spec.key] = text;
  }
  const plain = raw.values.get("plainHttpHosts");
  const plainList = typeof plain === "string" ? [plain] : (plain ?? []);
  env["ACR_P2P_UPSTREAM_HOSTS"] = [SAMPLE_UPSTREAM, ...plainList].join(",");
  const parsed = loadSidecarConfig([], env);
  return Object.freeze({
    copied: Object.freeze(copied),
    port: parsed.port,
    peerPort: parsed.peerPort,
    healthPort: parsed.healthPort,
    cacheMode: parsed.cacheMode,
    cacheBytes: parsed.memoryCacheBytes,
    capacityBytes: parsed.capacityBytes,
    blockSizeBytes: parsed.blockSizeBytes,
    proxyFsParallels: parsed.proxyFsParallels,
    plainHttpHosts: parsed.plainHttpHosts,
    peerSharing: parsed.peerSharing,
  });
}
