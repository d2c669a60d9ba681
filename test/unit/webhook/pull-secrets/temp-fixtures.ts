/**
 * The admission with ACR temporary credentials on, over real parts held in memory: the ACR resolver
 * and AcrTempCredentials over InMemoryCrApi, the secret store over MemoryKubeApi (so the secret lands
 * where the webhook's own reads see it), wired by the controller's own tempPullSecretsOf. The clock
 * is fixed, so passwords and expiry times are the same on every run.
 *
 *   tempDeps({args?, waitMs?, kube?}) -> {deps, kube, api, temp, tick}
 *   ACR_VPC_HOST, ACR_INTERNET_HOST   the instance's two hosts
 */
import { Registry } from "prom-client";
import { silentLogger } from "../../../../lib/logger.ts";
import { AcrRegistryResolver } from "../../../../webhook/registry/acr-registry-resolver.ts";
import { AcrTempCredentials } from "../../../../webhook/pull-secrets/acr-temp-credentials.ts";
import { createCloudMetrics } from "../../../../webhook/cloud/cloud-metrics.ts";
import { InMemoryCrApi } from "../../../../webhook/cloud/in-memory-cr-api.ts";
import { KubePullSecretStore } from "../../../../webhook/pull-secrets/kube-pull-secret-store.ts";
import { UnionRegistryResolver } from "../../../../webhook/registry/union-resolver.ts";
import { MemoryKubeApi } from "../../../../webhook/kube/memory-kube-api.ts";
import { StaticRegistryResolver } from "../../../../webhook/registry/registry-resolver.ts";
import { tempPullSecretsOf } from "../../../../webhook/server/controller-cloud.ts";
import { testConfig, testDeps, type TestDeps } from "../webhook-fixtures.ts";

export const ACR_INSTANCE = "cri-golden";
export const ACR_VPC_HOST = "golden-registry-vpc.cn-hangzhou.cr.aliyuncs.com";
export const ACR_INTERNET_HOST = "golden-registry.cn-hangzhou.cr.aliyuncs.com";
/** 2030-01-01T00:00:00Z: passwords issued "now" expire an hour later. */
export const FIXED_NOW = Date.UTC(2030, 0, 1);

export interface TempSetup {
  readonly deps: TestDeps;
  readonly kube: MemoryKubeApi;
  readonly api: InMemoryCrApi;
  readonly temp: AcrTempCredentials;
  tick(ms: number): void;
}

export interface TempOptions {
  readonly args?: string[];
  readonly waitMs?: number;
  /** Share a cluster with another setup (two controller replicas). */
  readonly kube?: MemoryKubeApi;
}

export async function tempDeps(options: TempOptions = {}): Promise<TempSetup> {
  const config = testConfig(options.args ?? []);
  let now = FIXED_NOW;
  const api = new InMemoryCrApi();
  api.region = "cn-hangzhou";
  api.now = () => now;
  api.addInstance(ACR_INSTANCE, "golden", "vpc-golden");
  const metrics = createCloudMetrics(new Registry());
  const log = silentLogger();
  const acr = new AcrRegistryResolver({
    instances: [ACR_INSTANCE],
    vpcId: "vpc-golden",
    api,
    refreshIntervalMs: 3600_000,
    metrics,
    log,
    now: () => now,
  });
  await acr.refresh();
  const kube = options.kube ?? new MemoryKubeApi();
  const temp = new AcrTempCredentials({
    instances: [ACR_INSTANCE],
    api,
    hostsOf: (id) => acr.hostsOf(id),
    rewriteAuthority: `127.0.0.1:${config.mutation.sidecar.port}`,
    store: new KubePullSecretStore(kube),
    metrics,
    log,
    now: () => now,
  });
  const deps: TestDeps = {
    ...testDeps(config, kube),
    resolver: new UnionRegistryResolver([new StaticRegistryResolver(config.registries), acr]),
    tempPullSecrets: tempPullSecretsOf(temp, acr),
    ...(options.waitMs !== undefined && { tempPullSecretWaitMs: options.waitMs }),
  };
  return { deps, kube, api, temp, tick: (ms) => (now += ms) };
}
