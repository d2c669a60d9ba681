/**
 * The cloud layer (the CR API client in webhook/cloud/, the ACR resolver in webhook/registry/, the
 * temporary credentials in webhook/pull-secrets/, wired by cloud-services.ts) plugged into the
 * controller: with acrInstances set, the accelerated hosts are the configured static ones plus the
 * instances' (one UnionRegistryResolver, whose readiness detail /readyz shows), the cloud metrics go to
 * the controller's registry, and ACR temporary credentials (when on) are written through the
 * controller's own Kubernetes access, keyed by the prefix the webhook rewrites images to
 * (`127.0.0.1:<p2p.port>`). The namespaces whose secret is kept fresh are those this process admitted
 * pods into, plus those where injected pods name the secret (listed at start and every few minutes): a
 * restarted controller, or the other replica, keeps refreshing secrets that running pods need when
 * their containers restart.
 *
 * Without acrInstances nothing cloud-related starts and no credentials are needed.
 */
import type { Logger } from "../../lib/logger.ts";
import type { AcrRegistryResolver } from "../registry/acr-registry-resolver.ts";
import type { AcrTempCredentials } from "../pull-secrets/acr-temp-credentials.ts";
import type { CloudConfig } from "../cloud/cloud-config.ts";
import { AcrInstanceNotFoundError, CloudConfigError } from "../cloud/cloud-errors.ts";
import { startCloudServices, type CloudServices } from "./cloud-services.ts";
import type { EcsMetadataClient } from "../cloud/ecs-metadata.ts";
import { KubePullSecretStore } from "../pull-secrets/kube-pull-secret-store.ts";
import { UnionRegistryResolver } from "../registry/union-resolver.ts";
import type { WebhookConfig } from "../config/webhook-config.ts";
import type { KubeApi } from "../kube/kube-api.ts";
import type { TempPullSecrets } from "../pull-secrets/temp-pull-secret.ts";
import { PEER_LABEL } from "../mutation/names.ts";
import { StaticRegistryResolver, type RegistryResolver } from "../registry/registry-resolver.ts";
import type { WebhookMetrics } from "../metrics/webhook-metrics.ts";

export interface ControllerCloud {
  readonly resolver: RegistryResolver;
  readonly tempPullSecrets: TempPullSecrets | undefined;
  /** Undefined when acrInstances is empty. */
  readonly services: CloudServices | undefined;
  stop(): void;
}

export interface ControllerCloudDeps {
  readonly logger: Logger;
  readonly metrics: WebhookMetrics;
  readonly kube: KubeApi;
  /** The ECS metadata client (default: the real address); for region / VPC lookups. */
  readonly metadata?: EcsMetadataClient;
  /** How often injected pods are listed for namespaces needing the temporary credentials (10 min). */
  readonly discoveryIntervalMs?: number;
}

const DISCOVERY_INTERVAL_MS = 10 * 60_000;

/**
 * Starts the cloud layer for the controller: waits for the first resolution of the instances (a
 * failure leaves the resolver not ready and retrying); throws CloudConfigError / AcrInstanceNotFoundError
 * for what the user must fix (see isCloudSetupError).
 */
export async function startControllerCloud(
  config: WebhookConfig,
  cloudConfig: CloudConfig,
  deps: ControllerCloudDeps,
): Promise<ControllerCloud> {
  const fixed = new StaticRegistryResolver(config.registries);
  const services = await startCloudServices(cloudConfig, {
    log: deps.logger,
    metricsRegistry: deps.metrics.registry,
    secretStore: new KubePullSecretStore(deps.kube),
    rewriteAuthority: `127.0.0.1:${config.mutation.sidecar.port}`,
    ...(deps.metadata && { metadata: deps.metadata }),
  });
  if (!services) return { resolver: fixed, tempPullSecrets: undefined, services, stop: () => {} };
  const temp = services.tempCredentials;
  const stopDiscovery = temp
    ? discoverTempNamespaces(temp, deps.kube, deps.discoveryIntervalMs ?? DISCOVERY_INTERVAL_MS, deps.logger)
    : () => {};
  return {
    resolver: new UnionRegistryResolver([fixed, services.resolver]),
    tempPullSecrets: temp ? tempPullSecretsOf(temp, services.resolver) : undefined,
    services,
    stop: () => {
      stopDiscovery();
      services.stop();
    },
  };
}

/**
 * Lists injected pods (label acr-p2p/peer=true; RBAC pods list, which the peer directory has) now
 * and every `everyMs`, and hands AcrTempCredentials the namespaces where one names the secret.
 */
function discoverTempNamespaces(
  temp: AcrTempCredentials,
  kube: KubeApi,
  everyMs: number,
  logger: Logger,
): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const run = async (): Promise<void> => {
    try {
      const pods = await kube.listPods(`${PEER_LABEL}=true`);
      const namespaces = new Set(
        pods.filter((p) => p.imagePullSecrets.includes(temp.secretName)).map((p) => p.namespace),
      );
      temp.adoptNamespaces(namespaces);
      await temp.refresh();
    } catch (err) {
      logger.warn({ err }, "listing injected pods for the temporary credentials failed; retrying later");
    }
    if (stopped) return;
    timer = setTimeout(() => void run(), everyMs);
    timer.unref();
  };
  void run();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** The temporary credentials as the admission uses them: they cover every host of the instances. */
export function tempPullSecretsOf(temp: AcrTempCredentials, resolver: AcrRegistryResolver): TempPullSecrets {
  return {
    secretName: temp.secretName,
    coveredHosts: () => resolver.acceleratedHosts(),
    ensureNamespace: (namespace) => temp.ensureNamespace(namespace),
    describe: () => temp.readiness().detail,
  };
}

/** A cloud start-up failure the user fixes in the values: the process exits 2, as for a bad option. */
export function isCloudSetupError(err: unknown): err is CloudConfigError | AcrInstanceNotFoundError {
  return err instanceof CloudConfigError || err instanceof AcrInstanceNotFoundError;
}
