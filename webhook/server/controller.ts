/**
 * Puts the controller together from its configuration: TLS, the cluster access, the registry
 * resolver, metrics and the HTTPS server. The pieces that vary (kube access, resolver, metrics, ACR
 * temporary credentials) can be passed in: tests use their own, and the entry point passes the union
 * of the static hosts and the ACR resolver (controller-cloud.ts), whose metrics share the registry.
 * The peer directory runs when a kubeconfig is passed (the entry point's; in-process tests with an
 * in-memory KubeApi have no API server to watch) and ACR_P2P_DIRECTORY_ENABLED is not false.
 */
import { loadKubeConfig } from "../kube/load-kubeconfig.ts";
import { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "../../lib/logger.ts";
import type { WebhookConfig } from "../config/webhook-config.ts";
import { ClientNodeKubeApi } from "../kube/client-node-kube-api.ts";
import { ClusterFacts } from "../kube/cluster-facts.ts";
import type { KubeApi } from "../kube/kube-api.ts";
import type { TempPullSecrets } from "../pull-secrets/temp-pull-secret.ts";
import { StaticRegistryResolver, type RegistryResolver } from "../registry/registry-resolver.ts";
import { startControllerDirectory, type ControllerDirectory } from "./controller-directory.ts";
import { startMetricsServer } from "./metrics-server.ts";
import { RecentSkipEvents } from "../admission/skip-event.ts";
import { startWebhookServer, type Readiness, type RunningServer } from "./https-server.ts";
import { WebhookMetrics } from "../metrics/webhook-metrics.ts";
import { ServingCertificate, SERVING_CERTIFICATE_CHECK } from "./serving-certificate.ts";
import type { TlsMaterial } from "./tls-material.ts";

export interface ControllerParts {
  readonly logger: Logger;
  readonly kube?: KubeApi;
  readonly resolver?: RegistryResolver;
  readonly tempPullSecrets?: TempPullSecrets;
  /** The metrics registry's owner; when passed, defaultMetrics is the caller's choice. */
  readonly metrics?: WebhookMetrics;
  readonly defaultMetrics?: boolean;
  /** How often certificate files are read (they appear after certgen, and change on rotation). */
  readonly tlsReloadMs?: number;
  /** The peer directory's cluster access; without it no directory is started. */
  readonly kubeConfig?: KubeConfig;
}

export interface RunningController extends RunningServer {
  /** The pair served at start (a generated or temporary one has its CA in caPem). */
  readonly tls: TlsMaterial;
  /** The pair served now, the CA bundle file and their readiness. */
  readonly servingCertificate: ServingCertificate;
  readonly metrics: WebhookMetrics;
  /** http://host:port/metrics on the plain-HTTP metrics port. */
  readonly metricsUrl: string;
  readonly facts: ClusterFacts;
  /** The peer directory, when started. */
  readonly directory: ControllerDirectory | undefined;
}

/** Reading three small files every few seconds costs nothing; the kubelet's own delay dominates. */
const TLS_RELOAD_MS = 5_000;

export async function startController(
  config: WebhookConfig,
  parts: ControllerParts,
): Promise<RunningController> {
  const { logger } = parts;
  const serving = await ServingCertificate.create(config, logger);
  const tls = serving.served;
  const kube = parts.kube ?? kubeApiFor(config);
  const facts = new ClusterFacts(kube, { namespaceTtlMs: config.namespaceCacheMs });
  const resolver = parts.resolver ?? new StaticRegistryResolver(config.registries);
  const metrics = parts.metrics ?? new WebhookMetrics({ defaultMetrics: parts.defaultMetrics ?? false });
  const temp = parts.tempPullSecrets;
  const directory =
    parts.kubeConfig && config.directoryEnabled
      ? await startControllerDirectory(config, serving, parts.kubeConfig, logger)
      : undefined;

  const readiness = async (exclude: ReadonlySet<string>): Promise<Readiness> => {
    const r = resolver.readiness();
    const version = await facts.serverVersion().then(
      (v) => ({ ok: true, text: v.gitVersion }),
      (err: unknown) => ({ ok: false, text: `unknown: ${err instanceof Error ? err.message : String(err)}` }),
    );
    const cert = serving.readiness();
    const checks: [string, boolean][] = [
      ["registries", r.ready],
      ["kubernetes", version.ok],
      [SERVING_CERTIFICATE_CHECK, cert.ready],
    ];
    return {
      ready: checks.every(([name, ok]) => ok || exclude.has(name)),
      detail: {
        registries: r.detail,
        kubernetes: version.text,
        [SERVING_CERTIFICATE_CHECK]: cert.detail,
        ...(temp && { tempCredentials: temp.describe() }),
        // Detail only: a lagging directory must not take the webhook out of its Service.
        ...(directory && { directory: directory.describe() }),
      },
    };
  };

  const server = await startWebhookServer({
    host: config.listenHost,
    port: config.listenPort,
    certPem: tls.certPem,
    keyPem: tls.keyPem,
    maxBodyBytes: config.maxBodyBytes,
    deps: {
      config: config.mutation,
      kube,
      facts,
      resolver,
      logger,
      directoryCA: () => directoryCa(serving),
      recentSkipEvents: new RecentSkipEvents(),
      ...(temp && { tempPullSecrets: temp }),
    },
    metrics,
    readiness,
  });
  serving.watch(server.server, parts.tlsReloadMs ?? TLS_RELOAD_MS);
  const metricsServer = await startMetricsServer(config.listenHost, config.metricsPort, metrics);
  // Warm the version cache so the first admission does not wait for it.
  void facts.serverVersion().then(
    (v) => logger.info({ kubernetes: v.gitVersion }, "server version"),
    (err: unknown) => logger.warn({ err }, "server version not readable yet; pods are skipped until it is"),
  );
  logger.info(
    {
      url: server.url,
      registries: [...resolver.acceleratedHosts()],
      certificate: serving.state,
      hosts: tls.hosts,
      metrics: metricsServer.url,
      ...(directory && { directory: directory.url }),
    },
    "webhook listening",
  );
  return {
    ...server,
    close: async () => {
      serving.stop();
      await Promise.all([server.close(), metricsServer.close(), directory?.close()]);
    },
    tls,
    servingCertificate: serving,
    metrics,
    metricsUrl: metricsServer.url,
    facts,
    directory,
  };
}

/**
 * The CA sidecars verify the directory with: the CA bundle file's content (it follows rotation), or a
 * generated certificate's CA; undefined while waiting for the files (the configured one is used).
 */
function directoryCa(serving: ServingCertificate): string | undefined {
  return serving.caPem() ?? (serving.state === "generated" ? serving.served.caPem : undefined);
}

/** The client-node access the config asks for (kubeconfig file, else in-cluster / ~/.kube/config). */
export function kubeApiFor(config: WebhookConfig): KubeApi {
  return new ClientNodeKubeApi(config.kubeconfig !== undefined ? { kubeconfig: config.kubeconfig } : {});
}

/** The same cluster access as a KubeConfig, for the peer directory's informers and TokenReviews. */
export function kubeConfigFor(config: WebhookConfig): KubeConfig {
  return loadKubeConfig(config.kubeconfig);
}
