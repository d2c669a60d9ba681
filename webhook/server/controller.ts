/**
 * Puts the controller together from its configuration: TLS, the cluster access, the registry
 * resolver, metrics and the HTTPS server. The pieces that vary (kube access, resolver, metrics, ACR
 * temporary credentials) can be passed in: tests use their own, and the entry point passes the union
 * of the static hosts and the ACR resolver (controller-cloud.ts), whose metrics share the registry.
 */
import type { Logger } from "../../lib/logger.ts";
import type { WebhookConfig } from "../config/webhook-config.ts";
import { ClientNodeKubeApi } from "../kube/client-node-kube-api.ts";
import { ClusterFacts } from "../kube/cluster-facts.ts";
import type { KubeApi } from "../kube/kube-api.ts";
import type { TempPullSecrets } from "../pull-secrets/temp-pull-secret.ts";
import { StaticRegistryResolver, type RegistryResolver } from "../registry/registry-resolver.ts";
import { startWebhookServer, type Readiness, type RunningServer } from "./https-server.ts";
import { WebhookMetrics } from "./metrics.ts";
import { loadTlsMaterial, type TlsMaterial } from "./tls-material.ts";

export interface ControllerParts {
  readonly logger: Logger;
  readonly kube?: KubeApi;
  readonly resolver?: RegistryResolver;
  readonly tempPullSecrets?: TempPullSecrets;
  readonly tls?: TlsMaterial;
  /** The metrics registry's owner; when passed, defaultMetrics is the caller's choice. */
  readonly metrics?: WebhookMetrics;
  readonly defaultMetrics?: boolean;
  /** How often certificate files are checked for a renewal (certgen rotates the mounted Secret). */
  readonly tlsReloadMs?: number;
}

export interface RunningController extends RunningServer {
  readonly tls: TlsMaterial;
  readonly metrics: WebhookMetrics;
  readonly facts: ClusterFacts;
}

export async function startController(
  config: WebhookConfig,
  parts: ControllerParts,
): Promise<RunningController> {
  const { logger } = parts;
  const tls = parts.tls ?? (await loadTlsMaterial(config));
  const kube = parts.kube ?? kubeApiFor(config);
  const facts = new ClusterFacts(kube, { namespaceTtlMs: config.namespaceCacheMs });
  const resolver = parts.resolver ?? new StaticRegistryResolver(config.registries);
  const metrics = parts.metrics ?? new WebhookMetrics({ defaultMetrics: parts.defaultMetrics ?? false });
  const temp = parts.tempPullSecrets;

  const readiness = async (): Promise<Readiness> => {
    const r = resolver.readiness();
    const version = await facts.serverVersion().then(
      (v) => ({ ok: true, text: v.gitVersion }),
      (err: unknown) => ({ ok: false, text: `unknown: ${err instanceof Error ? err.message : String(err)}` }),
    );
    return {
      ready: r.ready && version.ok,
      detail: {
        registries: r.detail,
        kubernetes: version.text,
        ...(temp && { tempCredentials: temp.describe() }),
      },
    };
  };

  const server = await startWebhookServer({
    host: config.listenHost,
    port: config.listenPort,
    certPem: tls.certPem,
    keyPem: tls.keyPem,
    maxBodyBytes: config.maxBodyBytes,
    deps: { config: config.mutation, kube, facts, resolver, logger, ...(temp && { tempPullSecrets: temp }) },
    metrics,
    readiness,
  });
  const stopReload = config.tlsFiles
    ? watchTlsFiles(config, server, tls, parts.tlsReloadMs ?? 30_000, logger)
    : () => {};
  // Warm the version cache so the first admission does not wait for it.
  void facts.serverVersion().then(
    (v) => logger.info({ kubernetes: v.gitVersion }, "server version"),
    (err: unknown) => logger.warn({ err }, "server version not readable yet; pods are skipped until it is"),
  );
  logger.info(
    {
      url: server.url,
      registries: [...resolver.acceleratedHosts()],
      generatedCert: tls.caPem !== undefined,
      hosts: tls.hosts,
    },
    "webhook listening",
  );
  return {
    ...server,
    close: async () => {
      stopReload();
      await server.close();
    },
    tls,
    metrics,
    facts,
  };
}

/** The client-node access the config asks for (kubeconfig file, else in-cluster / ~/.kube/config). */
export function kubeApiFor(config: WebhookConfig): KubeApi {
  return new ClientNodeKubeApi(config.kubeconfig !== undefined ? { kubeconfig: config.kubeconfig } : {});
}

/**
 * The kubelet updates a mounted Secret's files in place when certgen renews it; the server picks the
 * new pair up without a restart (new connections get it, open ones keep theirs).
 */
function watchTlsFiles(
  config: WebhookConfig,
  server: RunningServer,
  initial: TlsMaterial,
  everyMs: number,
  logger: Logger,
): () => void {
  let current = `${initial.certPem}\0${initial.keyPem}`;
  const check = async () => {
    try {
      const next = await loadTlsMaterial(config);
      const seen = `${next.certPem}\0${next.keyPem}`;
      if (seen === current) return;
      // Throws on a key that does not match its certificate: the loaded pair stays.
      server.server.setSecureContext({ cert: next.certPem, key: next.keyPem });
      current = seen;
      logger.info("serving certificate reloaded");
    } catch (err) {
      logger.warn({ err }, "serving certificate files not usable; keeping the loaded pair");
    }
  };
  const timer = setInterval(() => void check(), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
