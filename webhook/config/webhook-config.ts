/**
 * The controller's configuration: one frozen, typed object built once at start from the option tables
 * (webhook-options.ts and the copied sidecar options), the environment and the command line. A bad
 * value fails here with a message naming the option (its env variable and flag).
 */
import { isIP } from "node:net";
import { parseNormalizedReference, ReferenceError } from "../../contract/image-reference.ts";
import type { OptionSpec } from "../../lib/config/option-spec.ts";
import { ConfigError } from "../../lib/config/config-error.ts";
import {
  parseBool,
  parseChoice,
  parseHostPort,
  parseInt,
  parseNumber,
} from "../../lib/config/option-values.ts";
import { parseArgs, type ParsedArgs, type RawOptions } from "../../lib/config/raw-options.ts";
import { formatBytes, parseByteQuantity, parseQuantity } from "./quantity.ts";
import { canonicalRegistryHost } from "../registry/registry-resolver.ts";
import { buildSidecarSettings, type SidecarSettings } from "./sidecar-settings.ts";
import { COPIED_SIDECAR_OPTIONS, WEBHOOK_OPTIONS } from "./webhook-options.ts";

export type LogLevel = "debug" | "info" | "warn" | "error";

/** What the mutation needs: pure data, shared by the webhook and `acr-p2p inject`. */
export interface MutationConfig {
  /** The sidecar image, pinned by digest, exactly as configured. */
  readonly sidecarImage: string;
  readonly serverless: boolean;
  /** The controller's namespace (never injected, like kube-system). */
  readonly ownNamespace: string;
  readonly sidecar: SidecarSettings;
  readonly resources: SidecarResources;
}

export interface SidecarResources {
  /** CPU request and limit as configured (validated quantities, limit >= request). */
  readonly cpuRequest: string;
  readonly cpuLimit: string;
  readonly memoryRequestBytes: number;
  /** Memory limit = cache cap (memory mode) + this margin. */
  readonly memoryMarginBytes: number;
}

/**
 * The mounted cert Secret's files. They may not exist yet at start (the chart's volume is optional
 * until certgen runs) and change on rotation: webhook/server/serving-certificate.ts watches them.
 */
export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** The CA bundle (ca.crt); undefined when not configured. */
  readonly caFile: string | undefined;
}

export interface WebhookConfig {
  readonly mutation: MutationConfig;
  /** Canonical `host[:port]` of the configured accelerated registries. */
  readonly registries: readonly string[];
  readonly listenHost: string;
  readonly listenPort: number;
  readonly directoryEnabled: boolean;
  /** The peer directory's port on listenHost (0: a free port). */
  readonly directoryPort: number;
  /** Plain-HTTP /metrics (0: a free port). */
  readonly metricsPort: number;
  /** The peer ticket signing key file; undefined: generated at start. */
  readonly peerTicketKeyFile: string | undefined;
  /** Serving certificate files; undefined means "generate a CA and certificate at start". */
  readonly tlsFiles: TlsFiles | undefined;
  readonly serviceName: string;
  readonly tlsSans: readonly string[];
  readonly caOut: string | undefined;
  readonly kubeconfig: string | undefined;
  readonly maxBodyBytes: number;
  readonly namespaceCacheMs: number;
  readonly logLevel: LogLevel;
}

export const ALL_WEBHOOK_OPTIONS: readonly OptionSpec[] = Object.freeze([
  ...WEBHOOK_OPTIONS,
  ...COPIED_SIDECAR_OPTIONS,
]);

const DNS_LABEL_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Parses argv + env; `{help: true}` when --help was asked (nothing is validated then). */
export function parseWebhookArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ParsedArgs<WebhookConfig> {
  return parseArgs(ALL_WEBHOOK_OPTIONS, argv, env, buildWebhookConfig);
}

export function buildWebhookConfig(raw: RawOptions): WebhookConfig {
  const r = reader(raw);
  const [listenHost, listenPort] = parseListen(r.spec("listen"), r.required("listen"));
  const directoryPort = parseInt(r.spec("directoryPort"), r.required("directoryPort"));
  if (directoryPort !== 0 && directoryPort === listenPort)
    throw ConfigError.forSpec(
      r.spec("directoryPort"),
      `${directoryPort} is the webhook's own port (--listen)`,
    );
  const metricsPort = parseInt(r.spec("metricsPort"), r.required("metricsPort"));
  if (metricsPort !== 0 && (metricsPort === listenPort || metricsPort === directoryPort))
    throw ConfigError.forSpec(
      r.spec("metricsPort"),
      `${metricsPort} is already the webhook's or the directory's port`,
    );
  const certFile = r.text("tlsCert");
  const keyFile = r.text("tlsKey");
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw ConfigError.forSpec(
      r.spec(certFile === undefined ? "tlsCert" : "tlsKey"),
      "set both --tls-cert and --tls-key, or neither",
    );
  }
  const caFile = r.text("tlsCa");
  if (caFile !== undefined && certFile === undefined) {
    throw ConfigError.forSpec(r.spec("tlsCa"), "needs --tls-cert and --tls-key (the pair it verifies)");
  }
  const config: WebhookConfig = {
    mutation: Object.freeze(buildMutationConfig(raw)),
    registries: parseRegistries(r.spec("registries"), r.list("registries")),
    listenHost,
    listenPort,
    directoryEnabled: parseBool(r.spec("directoryEnabled"), r.required("directoryEnabled")),
    directoryPort,
    metricsPort,
    peerTicketKeyFile: r.text("peerTicketKeyFile"),
    tlsFiles:
      certFile !== undefined && keyFile !== undefined
        ? Object.freeze({ certFile, keyFile, caFile })
        : undefined,
    serviceName: dnsLabel(r.spec("serviceName"), r.required("serviceName")),
    tlsSans: Object.freeze([...r.list("tlsSans")]),
    caOut: r.text("caOut"),
    kubeconfig: r.text("kubeconfig"),
    maxBodyBytes: parseInt(r.spec("maxBodyBytes"), r.required("maxBodyBytes")),
    namespaceCacheMs: Math.round(
      parseNumber(r.spec("namespaceCacheSeconds"), r.required("namespaceCacheSeconds")) * 1000,
    ),
    logLevel: parseChoice<LogLevel>(r.spec("logLevel"), r.required("logLevel")),
  };
  return Object.freeze(config);
}

/** The mutation settings alone (the inject command needs no listener, TLS or kube access). */
export function buildMutationConfig(raw: RawOptions): MutationConfig {
  const r = reader(raw);
  return {
    sidecarImage: pinnedImage(r.spec("sidecarImage"), r.required("sidecarImage")),
    serverless: parseBool(r.spec("serverless"), r.required("serverless")),
    ownNamespace: dnsLabel(r.spec("namespace"), r.required("namespace")),
    sidecar: buildSidecarSettings(raw),
    resources: Object.freeze({
      ...cpu(
        r.spec("sidecarCpuRequest"),
        r.required("sidecarCpuRequest"),
        r.spec("sidecarCpuLimit"),
        r.required("sidecarCpuLimit"),
      ),
      memoryRequestBytes: bytes(r.spec("sidecarMemoryRequest"), r.required("sidecarMemoryRequest"), 16 * MiB),
      memoryMarginBytes: bytes(r.spec("sidecarMemoryMargin"), r.required("sidecarMemoryMargin"), 32 * MiB),
    }),
  };
}

const MiB = 2 ** 20;

function cpu(requestSpec: OptionSpec, request: string, limitSpec: OptionSpec, limit: string) {
  const cpuRequest = quantity(requestSpec, request);
  const cpuLimit = quantity(limitSpec, limit);
  if ((parseQuantity(cpuLimit) as number) < (parseQuantity(cpuRequest) as number)) {
    throw ConfigError.forSpec(limitSpec, `${cpuLimit} is below the CPU request ${cpuRequest}`);
  }
  return { cpuRequest, cpuLimit };
}

function quantity(spec: OptionSpec, text: string): string {
  const value = parseQuantity(text);
  if (value === undefined || value <= 0)
    throw ConfigError.forSpec(spec, `${JSON.stringify(text)} is not a positive quantity (e.g. 50m, 0.1)`);
  return text.trim();
}

function bytes(spec: OptionSpec, text: string, minimum: number): number {
  const value = parseByteQuantity(text);
  if (value === undefined)
    throw ConfigError.forSpec(spec, `${JSON.stringify(text)} is not a byte quantity (e.g. 64Mi)`);
  if (value < minimum)
    throw ConfigError.forSpec(spec, `${text} is below the minimum ${formatBytes(minimum)}`);
  return value;
}

export function parseRegistries(spec: OptionSpec, hosts: readonly string[]): readonly string[] {
  const out = new Set<string>();
  for (const text of hosts) {
    const host = canonicalRegistryHost(parseHostPort(spec, text));
    if (host === undefined)
      throw ConfigError.forSpec(spec, `${JSON.stringify(text)} cannot be written in an image path (port?)`);
    out.add(host);
  }
  return Object.freeze([...out]);
}

function pinnedImage(spec: OptionSpec, text: string): string {
  let digest: string | undefined;
  try {
    digest = parseNormalizedReference(text).digest;
  } catch (err) {
    if (err instanceof ReferenceError) throw ConfigError.forSpec(spec, err.reason);
    throw err;
  }
  if (digest === undefined) {
    throw ConfigError.forSpec(
      spec,
      `${JSON.stringify(text)} is not pinned by digest (REPO@sha256:...): a tag can move under running pods`,
    );
  }
  return text;
}

/** `host:port`, `[v6]:port`, `:port` or a bare `port` (all addresses). */
function parseListen(spec: OptionSpec, text: string): [string, number] {
  const trimmed = text.trim();
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(
    /^\d+$/.test(trimmed) ? `:${trimmed}` : trimmed,
  );
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!m || host === undefined || port > 65535)
    throw ConfigError.forSpec(spec, `expected host:port, got ${JSON.stringify(text)}`);
  if (host !== "" && host !== "localhost" && isIP(host) === 0)
    throw ConfigError.forSpec(spec, `not an IP address: ${host}`);
  return [host === "" ? "0.0.0.0" : host, port];
}

function dnsLabel(spec: OptionSpec, text: string): string {
  if (!DNS_LABEL_RE.test(text))
    throw ConfigError.forSpec(spec, `${JSON.stringify(text)} is not a DNS label (lower case, digits, '-')`);
  return text;
}

function reader(raw: RawOptions) {
  const spec = (key: string): OptionSpec => {
    const found = ALL_WEBHOOK_OPTIONS.find((o) => o.key === key);
    if (!found) throw new Error(`no option ${key}`);
    return found;
  };
  const text = (key: string): string | undefined => {
    const v = raw.values.get(key);
    return typeof v === "string" ? v : undefined;
  };
  return {
    spec,
    text,
    required(key: string): string {
      const v = text(key);
      if (v === undefined) throw ConfigError.forSpec(spec(key), "required");
      return v;
    },
    list(key: string): readonly string[] {
      const v = raw.values.get(key);
      return Array.isArray(v) ? v : [];
    },
  };
}
