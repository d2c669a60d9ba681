/**
 * The cloud layer (webhook/cloud/) plugged into the controller: with acrInstances set, the accelerated
 * hosts are the configured static ones plus the instances' (one UnionRegistryResolver, whose readiness
 * detail /readyz shows), the cloud metrics go to the controller's registry, and ACR temporary
 * credentials (when on) are written through the controller's own Kubernetes access, keyed by the
 * prefix the webhook rewrites images to (`127.0.0.1:<p2p.port>`).
 *
 * Without acrInstances nothing cloud-related starts and no credentials are needed.
 */
import type { Logger } from "../../lib/logger.ts";
import type { AcrRegistryResolver } from "../cloud/acr-registry-resolver.ts";
import type { AcrTempCredentials } from "../cloud/acr-temp-credentials.ts";
import type { CloudConfig } from "../cloud/cloud-config.ts";
import { AcrInstanceNotFoundError, CloudConfigError } from "../cloud/cloud-errors.ts";
import { startCloudServices, type CloudServices } from "../cloud/cloud-services.ts";
import type { EcsMetadataClient } from "../cloud/ecs-metadata.ts";
import { KubePullSecretStore } from "../cloud/kube-pull-secret-store.ts";
import { UnionRegistryResolver } from "../cloud/union-resolver.ts";
import type { WebhookConfig } from "../config/webhook-config.ts";
import type { KubeApi } from "../kube/kube-api.ts";
import type { TempPullSecrets } from "../pull-secrets/temp-pull-secret.ts";
import { StaticRegistryResolver, type RegistryResolver } from "../registry/registry-resolver.ts";
import type { WebhookMetrics } from "./metrics.ts";

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
}

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
  return {
    resolver: new UnionRegistryResolver([fixed, services.resolver]),
    tempPullSecrets: temp ? tempPullSecretsOf(temp, services.resolver) : undefined,
    services,
    stop: () => services.stop(),
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
