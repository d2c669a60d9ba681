/**
 * The sidecar's configuration: one frozen, typed object built once at start from the option table
 * (contract/sidecar-options.ts), the environment and the command line. Every bad value fails here with a
 * message naming the option. Derived values (bytes, milliseconds) sit beside the options they come from
 * so nothing downstream converts units again.
 */
import { SIDECAR_OPTIONS, sidecarOption } from "../../contract/sidecar-options.ts";
import {
  checkSidecarPorts,
  resolveMemoryCap,
  type CacheMode,
  type LogLevel,
} from "../../contract/sidecar-option-rules.ts";
import { ConfigError } from "../../lib/config/config-error.ts";
import type { OptionValue } from "../../lib/config/option-spec.ts";
import { parseOptionValues } from "../../lib/config/option-values.ts";
import {
  collectRawOptions,
  parseArgs,
  type ParsedArgs,
  type RawOptions,
} from "../../lib/config/raw-options.ts";

export type { CacheMode, LogLevel };

export interface SidecarConfig {
  readonly port: number;
  readonly listenHost: string;
  readonly peerPort: number;
  readonly healthPort: number;
  readonly podIP: string;
  readonly podName: string | undefined;
  readonly podNamespace: string | undefined;
  readonly cacheMode: CacheMode;
  readonly blocksizeKiB: number;
  readonly capacityBytes: number;
  readonly optionBlockSizeBytes: number | undefined;
  readonly memoryCacheCapacityGB: number | undefined;
  readonly aio: number;
  readonly proxyFsParallels: number;
  readonly maxBlobGiB: number;
  readonly connectTimeoutSeconds: number;
  readonly transferTimeoutSeconds: number;
  /** Canonical (lower-case) `host[:port]` of every registry served. */
  readonly upstreamHosts: readonly string[];
  readonly plainHttpHosts: readonly string[];
  readonly allowedHosts: readonly string[];
  readonly peers: readonly string[];
  readonly peerSharing: boolean;
  readonly group: string | undefined;
  readonly directoryURL: string | undefined;
  readonly directoryCA: string | undefined;
  readonly directoryTokenFile: string | undefined;
  readonly peerTicketKeyFile: string | undefined;
  readonly cacheDir: string | undefined;
  readonly logLevel: LogLevel;
  /** Derived: block size in bytes. */
  readonly blockSizeBytes: number;
  /** Derived: the largest blob served, in bytes. */
  readonly maxBlobBytes: number;
  /** Derived: the memory cache's hard cap in bytes (memoryCacheCapacityGB, else optionBlockSize, else 512 MiB). */
  readonly memoryCacheBytes: number;
  readonly connectTimeoutMs: number;
  readonly transferTimeoutMs: number;
}

const GiB = 1024 * 1024 * 1024;

/** Parses argv + env; `{help: true}` when --help was asked (nothing else is validated then). */
export function parseSidecarArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ParsedArgs<SidecarConfig> {
  return parseArgs(SIDECAR_OPTIONS, argv, env, buildSidecarConfig);
}

export function loadSidecarConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): SidecarConfig {
  const raw = collectRawOptions(SIDECAR_OPTIONS, argv, env);
  return buildSidecarConfig(raw);
}

function buildSidecarConfig(raw: RawOptions): SidecarConfig {
  const values = parseOptionValues(SIDECAR_OPTIONS, raw);
  const optional = <T extends OptionValue>(key: string): T | undefined => values.get(key) as T | undefined;
  const required = <T extends OptionValue>(key: string): T => {
    const value = optional<T>(key);
    if (value === undefined) throw ConfigError.forSpec(sidecarOption(key), "required");
    return value;
  };
  const list = (key: string): readonly string[] => optional<readonly string[]>(key) ?? [];

  const upstreamHosts = list("upstreamHosts");
  if (upstreamHosts.length === 0) {
    throw ConfigError.forSpec(sidecarOption("upstreamHosts"), "name at least one registry host to serve");
  }
  const plainHttpHosts = list("plainHttpHosts");
  for (const h of plainHttpHosts) {
    if (!upstreamHosts.includes(h)) {
      throw ConfigError.forSpec(sidecarOption("plainHttpHosts"), `${h} is not one of the upstream hosts`);
    }
  }
  const optionBlockSizeBytes = optional<number>("optionBlockSizeBytes");
  const memoryCacheCapacityGB = optional<number>("memoryCacheCapacityGB");
  const blocksizeKiB = required<number>("blocksizeKiB");
  const maxBlobGiB = required<number>("maxBlobGiB");
  const connectTimeoutSeconds = required<number>("connectTimeoutSeconds");
  const transferTimeoutSeconds = required<number>("transferTimeoutSeconds");

  const config: SidecarConfig = {
    port: required("port"),
    listenHost: required("listenHost"),
    peerPort: required("peerPort"),
    healthPort: required("healthPort"),
    podIP: required("podIP"),
    podName: optional("podName"),
    podNamespace: optional("podNamespace"),
    cacheMode: required("cacheMode"),
    blocksizeKiB,
    capacityBytes: required("capacityBytes"),
    optionBlockSizeBytes,
    memoryCacheCapacityGB,
    aio: required("aio"),
    proxyFsParallels: required("proxyFsParallels"),
    maxBlobGiB,
    connectTimeoutSeconds,
    transferTimeoutSeconds,
    upstreamHosts,
    plainHttpHosts,
    allowedHosts: list("allowedHosts"),
    peers: list("peers"),
    peerSharing: required("peerSharing"),
    group: optional("group") ?? optional("podNamespace"),
    directoryURL: optional("directoryURL"),
    directoryCA: optional("directoryCA"),
    directoryTokenFile: optional("directoryTokenFile"),
    peerTicketKeyFile: optional("peerTicketKeyFile"),
    cacheDir: optional("cacheDir"),
    logLevel: required("logLevel"),
    blockSizeBytes: blocksizeKiB * 1024,
    maxBlobBytes: maxBlobGiB * GiB,
    memoryCacheBytes: resolveMemoryCap(memoryCacheCapacityGB, optionBlockSizeBytes),
    connectTimeoutMs: Math.round(connectTimeoutSeconds * 1000),
    transferTimeoutMs: Math.round(transferTimeoutSeconds * 1000),
  };
  checkSidecarPorts(config);
  return Object.freeze(config);
}
