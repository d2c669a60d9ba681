/**
 * Runs the controller's cloud start-up in the test process against a CloudRig: config parsed from
 * the rig's environment for a method, a fresh metrics registry, the emulators' CA trusted in-process.
 *
 *   startInProcess(rig, method, {extraEnv?, tokenFile?, expireDuration?, ...deps}) -> {services, registry}
 *   metricValue(registry, name, labels) -> number
 */
import { Registry } from "prom-client";
import { silentLogger } from "../../../lib/logger.ts";
import { parseCloudConfig } from "../../../webhook/cloud/cloud-config.ts";
import {
  startCloudServices,
  type CloudDeps,
  type CloudServices,
} from "../../../webhook/server/cloud-services.ts";
import type { CloudRig, Method } from "./cloud-rig.ts";
import { trustInProcess } from "./test-ca.ts";

export interface InProcessOptions extends Partial<CloudDeps> {
  readonly extraEnv?: Record<string, string>;
  readonly tokenFile?: string;
  readonly expireDuration?: number;
}

export async function startInProcess(
  rig: CloudRig,
  method: Method,
  options: InProcessOptions = {},
): Promise<{ services: CloudServices; registry: Registry }> {
  trustInProcess(rig.ca);
  const env = {
    ...rig.env(method, { tokenFile: options.tokenFile, expireDuration: options.expireDuration }),
    ...options.extraEnv,
  };
  const registry = options.metricsRegistry ?? new Registry();
  const services = await startCloudServices(parseCloudConfig(env), {
    log: options.log ?? silentLogger(),
    metricsRegistry: registry,
    secretStore: options.secretStore,
    rewriteAuthority: options.rewriteAuthority,
  });
  if (!services) throw new Error("no acrInstances in the rig's environment");
  return { services, registry };
}

export async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const value = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return value?.value ?? 0;
}
