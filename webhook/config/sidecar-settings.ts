/**
 * The sidecar settings the controller copies into every injected pod. Each is checked at start against
 * its declaration in contract/sidecar-options.ts, and the rules between them against
 * contract/sidecar-option-rules.ts, as the sidecar checks them: a value the sidecar would refuse stops
 * the controller instead of every injected pod.
 */
import { checkSidecarPorts, resolveMemoryCap, type CacheMode } from "../../contract/sidecar-option-rules.ts";
import { SIDECAR_OPTIONS, isCopied, type SidecarOptionSpec } from "../../contract/sidecar-options.ts";
import type { OptionValue } from "../../lib/config/option-spec.ts";
import { formatOptionValue, parseOptionValues } from "../../lib/config/option-values.ts";
import type { RawOptions } from "../../lib/config/raw-options.ts";
import { copiedSidecarOptions } from "./webhook-options.ts";

export interface SidecarSettings {
  /**
   * Copied options' values by option key, as the text the sidecar parses back to the same value; the
   * memory cap excluded (see cacheBytes).
   */
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

/** Folded into cacheBytes, which each pod's sizing renders as optionBlockSize. */
const CACHE_KEYS = new Set(["optionBlockSizeBytes", "memoryCacheCapacityGB"]);

/** `table` is the sidecar's option table; a test passes its own. */
export function buildSidecarSettings(
  raw: RawOptions,
  table: readonly SidecarOptionSpec[] = SIDECAR_OPTIONS,
): SidecarSettings {
  // As the controller takes them, so an error names the controller's flag.
  const values = parseOptionValues(copiedSidecarOptions(table), raw);
  const value = <T extends OptionValue>(key: string): T => values.get(key) as T;
  const copied: Record<string, string> = {};
  for (const [key, v] of values) {
    const text = formatOptionValue(v);
    if (!CACHE_KEYS.has(key) && text !== "") copied[key] = text;
  }
  const settings: SidecarSettings = {
    copied: Object.freeze(copied),
    port: value<number>("port"),
    peerPort: value<number>("peerPort"),
    healthPort: value<number>("healthPort"),
    cacheMode: value<CacheMode>("cacheMode"),
    cacheBytes: resolveMemoryCap(value("memoryCacheCapacityGB"), value("optionBlockSizeBytes")),
    capacityBytes: value<number>("capacityBytes"),
    blockSizeBytes: value<number>("blocksizeKiB") * 1024,
    proxyFsParallels: value<number>("proxyFsParallels"),
    plainHttpHosts: value<readonly string[]>("plainHttpHosts") ?? [],
    peerSharing: value<boolean>("peerSharing"),
  };
  checkSidecarPorts(settings);
  return Object.freeze(settings);
}
