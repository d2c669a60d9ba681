/**
 * Starts the cloud layer from its config: placement (region, VPC), credentials, the CR client, the
 * ACR resolver and, when enabled, the temporary-credential secrets. The controller's entry point
 * calls this once; with no acrInstances there is nothing to start and no credentials are needed.
 */
import type { Registry } from "prom-client";
import type { Logger } from "../../lib/logger.ts";
import { AcrRegistryResolver } from "../registry/acr-registry-resolver.ts";
import { AcrTempCredentials } from "../pull-secrets/acr-temp-credentials.ts";
import type { CloudConfig } from "../cloud/cloud-config.ts";
import { createCloudMetrics } from "../cloud/cloud-metrics.ts";
import { CrOpenApiClient } from "../cloud/cr-openapi-client.ts";
import { checkCredentialSources, createCloudCredential } from "../cloud/credentials.ts";
import { EcsMetadataClient, resolvePlacement, type Placement } from "../cloud/ecs-metadata.ts";
import type { PullSecretStore } from "../pull-secrets/pull-secret-store.ts";

export interface CloudServices {
  readonly placement: Placement;
  /** e.g. `ram_role_arn/oidc_role_arn`: which credential chain is in use (for the start-up log). */
  readonly providerName: string;
  readonly resolver: AcrRegistryResolver;
  readonly tempCredentials: AcrTempCredentials | undefined;
  stop(): void;
}

export interface CloudDeps {
  readonly log: Logger;
  readonly metricsRegistry: Registry;
  /** Needed when config.tempCredentials is on. */
  readonly secretStore?: PullSecretStore;
  /** `127.0.0.1:<p2p.port>`, needed when config.tempCredentials is on. */
  readonly rewriteAuthority?: string;
  readonly metadata?: EcsMetadataClient;
}

export function defaultCrEndpoint(region: string): string {
  return `cr-vpc.${region}.aliyuncs.com`;
}

export async function startCloudServices(
  config: CloudConfig,
  deps: CloudDeps,
): Promise<CloudServices | undefined> {
  if (config.acrInstances.length === 0) return undefined;
  await checkCredentialSources(config);
  const placement = await resolvePlacement(config, deps.metadata ?? new EcsMetadataClient());
  const { credential, providerName } = createCloudCredential(config, placement.region);
  const api = new CrOpenApiClient({
    endpoint: config.crEndpoint ?? defaultCrEndpoint(placement.region),
    region: placement.region,
    credential,
  });
  const metrics = createCloudMetrics(deps.metricsRegistry);
  const log = deps.log.child({ component: "cloud" });
  log.info(
    { method: config.credentials.kind, providerName, ...placement, instances: config.acrInstances },
    "cloud credentials configured",
  );
  const resolver = new AcrRegistryResolver({
    instances: config.acrInstances,
    vpcId: placement.vpcId,
    api,
    refreshIntervalMs: config.refreshIntervalSeconds * 1000,
    metrics,
    log,
  });
  await resolver.start();
  let tempCredentials: AcrTempCredentials | undefined;
  if (config.tempCredentials) {
    if (!deps.secretStore || !deps.rewriteAuthority)
      throw new Error("tempCredentials needs a secret store and the rewrite authority");
    tempCredentials = new AcrTempCredentials({
      instances: config.acrInstances,
      api,
      hostsOf: (id) => resolver.hostsOf(id),
      rewriteAuthority: deps.rewriteAuthority,
      store: deps.secretStore,
      metrics,
      log,
    });
    const temp = tempCredentials;
    resolver.onChange(() => void temp.refresh());
    temp.start();
    // The first password now, not at the first admission that needs one (which waits only briefly).
    void temp.refresh();
  }
  return {
    placement,
    providerName,
    resolver,
    tempCredentials,
    stop() {
      resolver.stop();
      tempCredentials?.stop();
    },
  };
}
