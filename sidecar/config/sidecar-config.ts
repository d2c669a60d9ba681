/**
 * The sidecar's configuration: one frozen, typed object built once at start from the option table
 * (lib/sidecar-options.ts), the environment and the command line. Every bad value fails here with a
 * message naming the option. Derived values (bytes, milliseconds) sit beside the options they come from
 * so nothing downstream converts units again.
 */
import { isIP } from "node:net";
import { SIDECAR_OPTIONS, sidecarOption, type OptionSpec } from "../../lib/sidecar-options.ts";
import { ConfigError, describeOption } from "../../lib/config/config-error.ts";
import {
  parseBool,
  parseChoice,
  parseHostPort,
  parseInt,
  parseNumber,
} from "../../lib/config/option-values.ts";
import {
  collectRawOptions,
  parseArgs,
  type ParsedArgs,
  type RawOptions,
} from "../../lib/config/raw-options.ts";

export type CacheMode = "memory" | "disk";
export type LogLevel = "debug" | "info" | "warn" | "error";

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

export const DEFAULT_MEMORY_CACHE_BYTES = 512 * 1024 * 1024;
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
  const text = (key: string): string | undefined => {
    const v = raw.values.get(key);
    return typeof v === "string" ? v : undefined;
  };
  const list = (key: string): readonly string[] => {
    const v = raw.values.get(key);
    return Array.isArray(v) ? v : [];
  };
  const int = (key: string): number => parseInt(sidecarOption(key), required(sidecarOption(key), text(key)));
  const optInt = (key: string): number | undefined =>
    maybe(text(key), (t) => parseInt(sidecarOption(key), t));
  const num = (key: string): number =>
    parseNumber(sidecarOption(key), required(sidecarOption(key), text(key)));
  const optNum = (key: string): number | undefined =>
    maybe(text(key), (t) => parseNumber(sidecarOption(key), t));

  const blocksizeKiB = int("blocksizeKiB");
  const blocksizeSpec = sidecarOption("blocksizeKiB");
  if ((blocksizeKiB & (blocksizeKiB - 1)) !== 0) {
    throw ConfigError.forSpec(
      blocksizeSpec,
      `${blocksizeKiB} is not a power of two (64, 128, ..., 65536 KiB)`,
    );
  }

  const optionBlockSizeBytes = optInt("optionBlockSizeBytes");
  const memoryCacheCapacityGB = optNum("memoryCacheCapacityGB");
  const memoryCacheBytes = resolveMemoryCap(memoryCacheCapacityGB, optionBlockSizeBytes);

  const hostList = (key: string, opts: { allowIPv6?: boolean } = {}): readonly string[] =>
    Object.freeze([...new Set(list(key).map((h) => parseHostPort(sidecarOption(key), h, opts)))]);
  const upstreamHosts = hostList("upstreamHosts");
  if (upstreamHosts.length === 0) {
    throw ConfigError.forSpec(sidecarOption("upstreamHosts"), "name at least one registry host to serve");
  }
  const plainHttpHosts = hostList("plainHttpHosts");
  for (const h of plainHttpHosts) {
    if (!upstreamHosts.includes(h)) {
      throw ConfigError.forSpec(sidecarOption("plainHttpHosts"), `${h} is not one of the upstream hosts`);
    }
  }
  const peers = Object.freeze(
    list("peers").map((p) =>
      parseHostPort(sidecarOption("peers"), p, { requirePort: true, allowIPv6: true }),
    ),
  );

  const podIP = required(sidecarOption("podIP"), text("podIP"));
  if (isIP(podIP) === 0) throw ConfigError.forSpec(sidecarOption("podIP"), `not an IP address: ${podIP}`);
  const listenHost = required(sidecarOption("listenHost"), text("listenHost"));
  if (isIP(listenHost) === 0 && listenHost !== "localhost") {
    throw ConfigError.forSpec(sidecarOption("listenHost"), `not an IP address: ${listenHost}`);
  }
  const directoryURL = text("directoryURL");
  if (directoryURL !== undefined) checkUrl(sidecarOption("directoryURL"), directoryURL);

  const config: SidecarConfig = {
    port: int("port"),
    listenHost,
    peerPort: int("peerPort"),
    healthPort: int("healthPort"),
    podIP,
    podName: text("podName"),
    podNamespace: text("podNamespace"),
    cacheMode: parseChoice<CacheMode>(
      sidecarOption("cacheMode"),
      required(sidecarOption("cacheMode"), text("cacheMode")),
    ),
    blocksizeKiB,
    capacityBytes: int("capacityBytes"),
    optionBlockSizeBytes,
    memoryCacheCapacityGB,
    aio: int("aio"),
    proxyFsParallels: int("proxyFsParallels"),
    maxBlobGiB: int("maxBlobGiB"),
    connectTimeoutSeconds: num("connectTimeoutSeconds"),
    transferTimeoutSeconds: num("transferTimeoutSeconds"),
    upstreamHosts,
    plainHttpHosts,
    allowedHosts: hostList("allowedHosts", { allowIPv6: true }),
    peers,
    peerSharing: parseBool(
      sidecarOption("peerSharing"),
      required(sidecarOption("peerSharing"), text("peerSharing")),
    ),
    group: text("group") ?? text("podNamespace"),
    directoryURL,
    directoryCA: text("directoryCA"),
    directoryTokenFile: text("directoryTokenFile"),
    peerTicketKeyFile: text("peerTicketKeyFile"),
    cacheDir: text("cacheDir"),
    logLevel: parseChoice<LogLevel>(
      sidecarOption("logLevel"),
      required(sidecarOption("logLevel"), text("logLevel")),
    ),
    blockSizeBytes: blocksizeKiB * 1024,
    maxBlobBytes: int("maxBlobGiB") * GiB,
    memoryCacheBytes,
    connectTimeoutMs: Math.round(num("connectTimeoutSeconds") * 1000),
    transferTimeoutMs: Math.round(num("transferTimeoutSeconds") * 1000),
  };
  checkPorts(config);
  return Object.freeze(config);
}

/** design.md: memoryCacheCapacityGB wins; else optionBlockSize; both set and different is an error. */
function resolveMemoryCap(gb: number | undefined, bytes: number | undefined): number {
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

function checkPorts(c: SidecarConfig): void {
  if (c.peerPort === c.healthPort) {
    throw ConfigError.forSpec(
      sidecarOption("healthPort"),
      `same port as ${describeOption(sidecarOption("peerPort"))}`,
    );
  }
  const sameAddress = c.listenHost === c.podIP || c.listenHost === "0.0.0.0";
  if (sameAddress && (c.port === c.peerPort || c.port === c.healthPort)) {
    throw ConfigError.forSpec(
      sidecarOption("port"),
      "collides with the peer or health port on the same address",
    );
  }
}

function checkUrl(spec: OptionSpec, text: string): void {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw ConfigError.forSpec(spec, `not a URL: ${JSON.stringify(text)}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw ConfigError.forSpec(spec, "must be http(s)");
}

function required(spec: OptionSpec, value: string | undefined): string {
  if (value === undefined) throw ConfigError.forSpec(spec, "required");
  return value;
}

function maybe<T>(value: string | undefined, parse: (t: string) => T): T | undefined {
  return value === undefined ? undefined : parse(value);
}
