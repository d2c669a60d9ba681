/**
 * The controller's options: one table, the single source of each option's environment variable (set
 * by the Helm chart), command line flag (overrides the env), default and help text.
 *
 * The sidecar's seed parameters are not repeated here: the controller takes them under the sidecar's
 * own env names (contract/sidecar-options.ts) and copies them into every injected sidecar's env. Their
 * flags get a `--sidecar-` prefix so `--port` can never be mistaken for the webhook's own port.
 */
import {
  SIDECAR_MEMORY_MARGIN,
  SIDECAR_RUNTIME_BYTES,
  SIDECAR_WORKING_MARGIN_BYTES,
} from "../../lib/sidecar-memory.ts";
import { SIDECAR_OPTIONS, isCopied, type SidecarOptionSpec } from "../../contract/sidecar-options.ts";
import type { OptionSpec } from "../../lib/config/option-spec.ts";

const MiB = 1024 * 1024;

function option(spec: OptionSpec): OptionSpec {
  return Object.freeze(spec);
}

export const DEFAULT_NAMESPACE = "aliyun-acr-acceleration";

export const WEBHOOK_OPTIONS: readonly OptionSpec[] = Object.freeze([
  option({
    key: "registries",
    env: "ACR_P2P_REGISTRIES",
    flag: "--registry",
    kind: "list",
    help: "Accelerated registry hosts (host[:port]), comma-separated or repeated. Images of other hosts are left alone.",
  }),
  option({
    key: "sidecarImage",
    env: "ACR_P2P_SIDECAR_IMAGE",
    flag: "--sidecar-image",
    kind: "string",
    help: "The sidecar image, pinned by digest (REPO@sha256:...); required. A tag alone is refused.",
  }),
  option({
    key: "serverless",
    env: "ACR_P2P_SERVERLESS",
    flag: "--serverless",
    kind: "bool",
    default: "false",
    help: "The cluster is serverless (every pod runs on virtual nodes). Otherwise only pods pinned to virtual nodes are injected.",
  }),
  option({
    key: "sidecarCpuRequest",
    env: "ACR_P2P_SIDECAR_CPU_REQUEST",
    flag: "--sidecar-cpu-request",
    kind: "string",
    default: "50m",
    help: "The sidecar's CPU request (a Kubernetes quantity).",
  }),
  option({
    key: "sidecarCpuLimit",
    env: "ACR_P2P_SIDECAR_CPU_LIMIT",
    flag: "--sidecar-cpu-limit",
    kind: "string",
    default: "1",
    help: "The sidecar's CPU limit: always set, because a ResourceQuota counting limits.cpu rejects a pod with any container lacking one (LimitRange defaults are applied before webhooks run). Generous, as a throttled sidecar slows every pull.",
  }),
  option({
    key: "sidecarMemoryRequest",
    env: "ACR_P2P_SIDECAR_MEMORY_REQUEST",
    flag: "--sidecar-memory-request",
    kind: "string",
    default: "64Mi",
    help: "The sidecar's memory request (small: a sidecar's resources add to every pod).",
  }),
  option({
    key: "sidecarMemoryMargin",
    env: "ACR_P2P_SIDECAR_MEMORY_MARGIN",
    flag: "--sidecar-memory-margin",
    kind: "string",
    default: SIDECAR_MEMORY_MARGIN,
    help: `Added to the memory cache cap to give the sidecar's memory limit: the idle sidecar process (${SIDECAR_RUNTIME_BYTES / MiB}Mi; 72-74 MB measured) and its working margin (${SIDECAR_WORKING_MARGIN_BYTES / MiB}Mi: dropped blocks awaiting collection, origin leftovers, blocks in flight and read ahead, open requests). One budget, lib/sidecar-memory.ts.`,
  }),
  option({
    key: "namespace",
    env: "ACR_P2P_NAMESPACE",
    flag: "--namespace",
    kind: "string",
    default: DEFAULT_NAMESPACE,
    help: "The controller's own namespace: never injected (nor is kube-system).",
  }),
  option({
    key: "listen",
    env: "ACR_P2P_LISTEN",
    flag: "--listen",
    kind: "string",
    default: "0.0.0.0:8443",
    help: "HTTPS address ([host]:port) of /mutate, /healthz, /readyz and /metrics. Port 0 picks a free port.",
  }),
  option({
    key: "tlsCert",
    env: "ACR_P2P_TLS_CERT_FILE",
    flag: "--tls-cert",
    kind: "string",
    help: "PEM file of the serving certificate (with --tls-key), re-read every 5 s. While it is missing a temporary certificate is served and /readyz waits for it. When both are unset a CA and a certificate are generated at start.",
  }),
  option({
    key: "tlsKey",
    env: "ACR_P2P_TLS_KEY_FILE",
    flag: "--tls-key",
    kind: "string",
    help: "PEM file of the serving certificate's private key.",
  }),
  option({
    key: "tlsCa",
    env: "ACR_P2P_TLS_CA_FILE",
    flag: "--tls-ca",
    kind: "string",
    help: "PEM file of the CA bundle that verifies the serving certificate (the cert Secret's ca.crt, with --tls-cert). Re-read with the pair, so a rotation is seen without a restart.",
  }),
  option({
    key: "directoryEnabled",
    env: "ACR_P2P_DIRECTORY_ENABLED",
    flag: "--directory",
    kind: "bool",
    default: "true",
    help: "Run the peer directory (pods, nodes and namespaces watched through the API server). Off: only the webhook runs (sidecars then have no directory to ask and pull from the registry).",
  }),
  option({
    key: "directoryPort",
    env: "ACR_P2P_DIRECTORY_PORT",
    flag: "--directory-port",
    kind: "int",
    default: "8444",
    min: 0,
    max: 65535,
    help: "HTTPS port of the peer directory (GET /v1/peers, /healthz), on the --listen host, with the webhook's serving certificate (followed through rotation). 0 picks a free port.",
  }),
  option({
    key: "metricsPort",
    env: "ACR_P2P_METRICS_PORT",
    flag: "--metrics-port",
    kind: "int",
    default: "8445",
    min: 0,
    max: 65535,
    help: "Plain-HTTP port of /metrics alone, on the --listen host: Prometheus scrapes it without the webhook's certificate (the webhook port serves /metrics too, over TLS). 0 picks a free port.",
  }),
  option({
    key: "peerTicketKeyFile",
    env: "ACR_P2P_PEER_TICKET_KEY_FILE",
    flag: "--peer-ticket-key",
    kind: "string",
    help: "PEM file (PKCS#8) of the Ed25519 key that signs peer tickets; replicas must share it (the chart's certgen keeps it in the cert Secret as ticket.key). Unset, or until it is readable: a generated key signs (peers learn its public key from the directory).",
  }),
  option({
    key: "serviceName",
    env: "ACR_P2P_SERVICE_NAME",
    flag: "--service-name",
    kind: "string",
    default: "ack-acr-acceleration-p2p",
    help: "The webhook Service's name: a generated certificate names it (svc, svc.ns, svc.ns.svc, svc.ns.svc.cluster.local).",
  }),
  option({
    key: "tlsSans",
    env: "ACR_P2P_TLS_SANS",
    flag: "--tls-san",
    kind: "list",
    default: "localhost,127.0.0.1,::1",
    help: "Extra DNS names / IPs of a generated certificate (besides the Service names).",
  }),
  option({
    key: "caOut",
    env: "ACR_P2P_CA_OUT",
    flag: "--ca-out",
    kind: "string",
    help: "With a generated certificate: write its CA (PEM) to this file, e.g. for a caBundle in development.",
  }),
  option({
    key: "kubeconfig",
    env: "KUBECONFIG",
    flag: "--kubeconfig",
    kind: "string",
    help: "kubeconfig file; unset means in-cluster config (or ~/.kube/config outside a cluster).",
  }),
  option({
    key: "maxBodyBytes",
    env: "ACR_P2P_MAX_BODY_BYTES",
    flag: "--max-body-bytes",
    kind: "int",
    default: "3145728",
    min: 1024,
    max: 67108864,
    help: "Largest AdmissionReview accepted (bytes); larger requests get 413. The apiserver's own limit is 3 MiB.",
  }),
  option({
    key: "namespaceCacheSeconds",
    env: "ACR_P2P_NAMESPACE_CACHE_SECONDS",
    flag: "--namespace-cache-seconds",
    kind: "number",
    default: "5",
    min: 0,
    max: 3600,
    help: "How long a namespace's labels are reused before they are read again (0: every admission).",
  }),
  option({
    key: "logLevel",
    env: "ACR_P2P_WEBHOOK_LOG_LEVEL",
    flag: "--log-level",
    kind: "enum",
    choices: ["debug", "info", "warn", "error"],
    default: "info",
    help: "The controller's log level (ACR_P2P_LOG_LEVEL is the sidecars' level).",
  }),
]);

/**
 * The sidecar options the controller copies into every injected sidecar (scope copied or overridable
 * in their declaration), as it takes them: same env name, `--sidecar-` flag. `table` is the sidecar's
 * option table; a test passes its own.
 */
export function copiedSidecarOptions(
  table: readonly SidecarOptionSpec[] = SIDECAR_OPTIONS,
): readonly SidecarOptionSpec[] {
  return Object.freeze(
    table.filter(isCopied).map((spec) =>
      Object.freeze({
        ...spec,
        flag: `--sidecar-${spec.flag.replace(/^--/, "")}`,
        help: `Sidecar: ${spec.help}`,
      }),
    ),
  );
}

export const COPIED_SIDECAR_OPTIONS = copiedSidecarOptions();
