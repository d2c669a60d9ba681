/**
 * The sidecar's options: one declaration each, the single source of its environment variable, command
 * line flag, default, bounds, help text and scope. From it the sidecar parses its config, the controller
 * takes and checks the options it copies into every injected sidecar (with a `--sidecar-` flag), the
 * webhook renders each pod's sidecar env, `--help` is printed and the option tables of the READMEs are
 * generated (`npm run docs`). Seed parameter names (as in ACK's chart) are kept where the option is one
 * of them.
 *
 * Units follow the seed: blocksize in KiB, capacity and optionBlockSize in bytes, memoryCacheCapacityGB
 * in GiB, timeouts in seconds.
 */
import { isIP } from "node:net";
import type { OptionSpec, OptionValue } from "../lib/config/option-spec.ts";

/** Where an injected sidecar's value of the option comes from. */
export type SidecarScope =
  /** The controller takes it (same env, `--sidecar-` flag), checks it at start, copies it into every sidecar. */
  | "copied"
  /** As copied, and a pod's annotation may override it (the cache size, peer sharing). */
  | "overridable"
  /** The webhook derives it for each pod: the downward API, the pod's images, its namespace. */
  | "perPod"
  /** Never rendered into a pod: for tests and use outside Kubernetes, or the sidecar's default holds. */
  | "sidecarOnly";

export interface SidecarOptionSpec extends OptionSpec {
  readonly scope: SidecarScope;
  /** The downward API field the kubelet fills the value from (perPod options only). */
  readonly downward?: string;
}

/** The options the controller takes and copies into every injected sidecar. */
export function isCopied(spec: SidecarOptionSpec): boolean {
  return spec.scope === "copied" || spec.scope === "overridable";
}

function option(spec: SidecarOptionSpec): SidecarOptionSpec {
  return Object.freeze(spec);
}

const isPowerOfTwo = (value: OptionValue): string | undefined =>
  ((value as number) & ((value as number) - 1)) === 0
    ? undefined
    : `${String(value)} is not a power of two (64, 128, ..., 65536 KiB)`;

const isIPAddress = (value: OptionValue): string | undefined =>
  isIP(value as string) === 0 ? `not an IP address: ${String(value)}` : undefined;

function isHttpUrl(value: OptionValue): string | undefined {
  if (!URL.canParse(value as string)) return `not a URL: ${JSON.stringify(value)}`;
  const { protocol } = new URL(value as string);
  return protocol === "https:" || protocol === "http:" ? undefined : "must be http(s)";
}

export const SIDECAR_OPTIONS: readonly SidecarOptionSpec[] = Object.freeze([
  option({
    key: "port",
    scope: "copied",
    seedName: "p2p.port",
    env: "ACR_P2P_PORT",
    flag: "--port",
    kind: "int",
    default: "65001",
    min: 1,
    max: 65535,
    help: "Registry front port on 127.0.0.1 (what rewritten images point at).",
  }),
  option({
    key: "listenHost",
    scope: "sidecarOnly",
    env: "ACR_P2P_LISTEN_HOST",
    flag: "--listen-host",
    kind: "string",
    default: "127.0.0.1",
    check: (value) => (value === "localhost" ? undefined : isIPAddress(value)),
    help: "Address of the registry front. Keep loopback: only the pod itself may pull through it.",
  }),
  option({
    key: "peerPort",
    scope: "copied",
    env: "ACR_P2P_PEER_PORT",
    flag: "--peer-port",
    kind: "int",
    default: "65002",
    min: 1,
    max: 65535,
    help: "Port on the pod IP where group peers fetch blocks.",
  }),
  option({
    key: "healthPort",
    scope: "copied",
    env: "ACR_P2P_HEALTH_PORT",
    flag: "--health-port",
    kind: "int",
    default: "65003",
    min: 1,
    max: 65535,
    help: "Port on the pod IP for /healthz, /readyz and /metrics (kubelet probes go to the pod IP).",
  }),
  option({
    key: "podIP",
    scope: "perPod",
    downward: "status.podIP",
    env: "ACR_P2P_POD_IP",
    flag: "--pod-ip",
    kind: "string",
    default: "127.0.0.1",
    check: isIPAddress,
    help: "The pod IP (downward API status.podIP): where the peer and health servers listen.",
  }),
  option({
    key: "podName",
    scope: "perPod",
    downward: "metadata.name",
    env: "ACR_P2P_POD_NAME",
    flag: "--pod-name",
    kind: "string",
    help: "The pod's name (downward API), for logs and the directory.",
  }),
  option({
    key: "podNamespace",
    scope: "perPod",
    downward: "metadata.namespace",
    env: "ACR_P2P_POD_NAMESPACE",
    flag: "--pod-namespace",
    kind: "string",
    help: "The pod's namespace (downward API).",
  }),
  option({
    key: "cacheMode",
    scope: "copied",
    seedName: "p2p.v2.cache.mode",
    env: "ACR_P2P_CACHE_MODE",
    flag: "--cache-mode",
    kind: "enum",
    choices: ["memory", "disk"],
    default: "memory",
    help: "Where blocks are cached: memory (default for a sidecar) or disk (an emptyDir, size `capacity`).",
  }),
  option({
    key: "blocksizeKiB",
    scope: "copied",
    seedName: "blocksize",
    env: "ACR_P2P_BLOCKSIZE",
    flag: "--blocksize",
    kind: "int",
    default: "256",
    min: 64,
    max: 65536,
    check: isPowerOfTwo,
    help: "Block size in KiB; a power of two from 64 (64 KiB) to 65536 (64 MiB).",
  }),
  option({
    key: "cacheDir",
    scope: "perPod",
    env: "ACR_P2P_CACHE_DIR",
    flag: "--cache-dir",
    kind: "string",
    help: "Disk mode: the directory blocks are kept in (the webhook mounts an emptyDir here). Everything in it is deleted at start. Default: a new temporary directory.",
  }),
  option({
    key: "capacityBytes",
    scope: "copied",
    seedName: "capacity",
    env: "ACR_P2P_CAPACITY",
    flag: "--capacity",
    kind: "int",
    default: "4294967296",
    min: 0,
    help: "Disk cache size in bytes (disk mode only).",
  }),
  option({
    key: "optionBlockSizeBytes",
    scope: "overridable",
    seedName: "optionBlockSize",
    env: "ACR_P2P_OPTION_BLOCK_SIZE",
    flag: "--option-block-size",
    kind: "int",
    min: 1,
    help: "Memory cache size in bytes. memoryCacheCapacityGB wins when set; both set and different is an error. Default when neither is set: 536870912 (512 MiB).",
  }),
  option({
    key: "memoryCacheCapacityGB",
    scope: "overridable",
    seedName: "memoryCacheCapacityGB",
    env: "ACR_P2P_MEMORY_CACHE_CAPACITY_GB",
    flag: "--memory-cache-capacity-gb",
    kind: "number",
    min: 0,
    max: 1024,
    help: "Memory cache size in GiB (fractions allowed, e.g. 0.5).",
  }),
  option({
    key: "aio",
    scope: "copied",
    seedName: "aio",
    env: "ACR_P2P_AIO",
    flag: "--aio",
    kind: "int",
    default: "0",
    min: 0,
    max: 1,
    help: "Accepted for compatibility with the seed chart; means nothing for the sidecar (Node does its own async I/O).",
  }),
  option({
    key: "proxyFsParallels",
    scope: "copied",
    seedName: "proxyFsParallels",
    env: "ACR_P2P_PROXY_FS_PARALLELS",
    flag: "--proxy-fs-parallels",
    kind: "int",
    default: "128",
    min: 1,
    max: 4096,
    help: "Most block requests (to the registry and to peers) in flight at once.",
  }),
  option({
    key: "maxBlobGiB",
    scope: "sidecarOnly",
    env: "ACR_P2P_MAX_BLOB_GB",
    flag: "--max-blob-size-gb",
    kind: "int",
    default: "64",
    min: 1,
    max: 16384,
    help: "Largest blob served, in GiB: a registry announcing a larger one is answered 502 (bigger than any image layer; it bounds what a lying registry can make the sidecar plan for).",
  }),
  option({
    key: "connectTimeoutSeconds",
    scope: "copied",
    seedName: "connectTimeout",
    env: "ACR_P2P_CONNECT_TIMEOUT",
    flag: "--connect-timeout",
    kind: "number",
    default: "5",
    min: 0.05,
    max: 600,
    help: "Seconds to establish a connection to a peer or the registry.",
  }),
  option({
    key: "transferTimeoutSeconds",
    scope: "copied",
    seedName: "transferTimeout",
    env: "ACR_P2P_TRANSFER_TIMEOUT",
    flag: "--transfer-timeout",
    kind: "number",
    default: "15",
    min: 0.05,
    max: 3600,
    help: "Seconds without receiving a byte before a transfer is aborted.",
  }),
  option({
    key: "upstreamHosts",
    scope: "perPod",
    env: "ACR_P2P_UPSTREAM_HOSTS",
    flag: "--upstream-host",
    kind: "list",
    hosts: {},
    help: "Registry hosts (host[:port]) this sidecar serves; anything else is refused (never an open proxy).",
  }),
  option({
    key: "plainHttpHosts",
    scope: "copied",
    env: "ACR_P2P_PLAIN_HTTP_UPSTREAMS",
    flag: "--plain-http-upstream",
    kind: "list",
    hosts: {},
    help: "Upstream hosts spoken to over plain http (test and lab registries only).",
  }),
  option({
    key: "allowedHosts",
    scope: "copied",
    env: "ACR_P2P_ALLOWED_HOSTS",
    flag: "--allow-host",
    kind: "list",
    hosts: { allowIPv6: true },
    help: "Extra hosts (host[:port]) that redirects and token realms may point at, even on loopback or private addresses.",
  }),
  option({
    key: "peers",
    scope: "sidecarOnly",
    env: "ACR_P2P_PEERS",
    flag: "--peer",
    kind: "list",
    hosts: { requirePort: true, allowIPv6: true },
    help: "Static peer list (ip:port), for tests, benchmarks and use outside Kubernetes.",
  }),
  option({
    key: "peerSharing",
    scope: "overridable",
    env: "ACR_P2P_PEER_SHARING",
    flag: "--peer-sharing",
    kind: "bool",
    default: "true",
    help: "Share blocks with group peers; false pulls only from the registry.",
  }),
  option({
    key: "group",
    scope: "perPod",
    env: "ACR_P2P_GROUP",
    flag: "--group",
    kind: "string",
    help: "Peer group (by default the pod's namespace).",
  }),
  option({
    key: "directoryURL",
    scope: "copied",
    env: "ACR_P2P_DIRECTORY_URL",
    flag: "--directory-url",
    kind: "string",
    check: isHttpUrl,
    help: "URL of the controller's peer directory.",
  }),
  option({
    key: "directoryTokenFile",
    scope: "sidecarOnly",
    env: "ACR_P2P_DIRECTORY_TOKEN_FILE",
    flag: "--directory-token-file",
    kind: "string",
    default: "/var/run/secrets/acr-p2p/token",
    help: "The pod's projected ServiceAccount token (audience acr-p2p) that the peer directory checks with a TokenReview.",
  }),
  option({
    key: "peerTicketKeyFile",
    scope: "sidecarOnly",
    // Not ACR_P2P_PEER_TICKET_KEY_FILE: that is the controller's signing key, another key.
    env: "ACR_P2P_STATIC_PEER_KEY_FILE",
    flag: "--static-peer-key-file",
    kind: "string",
    help: "With a static peer list (no directory): file with the Ed25519 private key (PKCS#8 PEM) all the peers share to sign and verify peer tickets.",
  }),
  option({
    key: "directoryCA",
    scope: "copied",
    env: "ACR_P2P_DIRECTORY_CA",
    flag: "--directory-ca",
    kind: "string",
    help: "PEM of the CA that signs the directory's serving certificate. In an injected pod, the controller's current CA bundle (the cert Secret's ca.crt, or a generated CA), rendered at admission.",
  }),
  option({
    key: "logLevel",
    scope: "copied",
    env: "ACR_P2P_LOG_LEVEL",
    flag: "--log-level",
    kind: "enum",
    choices: ["debug", "info", "warn", "error"],
    default: "info",
    help: "Log level.",
  }),
]);

export function sidecarOption(key: string): SidecarOptionSpec {
  const found = SIDECAR_OPTIONS.find((o) => o.key === key);
  if (!found) throw new Error(`unknown sidecar option ${key}`);
  return found;
}
