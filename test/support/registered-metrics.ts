/**
 * Every metric name the two processes register (sidecar, its peer layer, the controller, its cloud
 * layer), plus prom-client's process metrics: what docs, alerts and dashboards may name.
 */
import { Registry, collectDefaultMetrics } from "prom-client";
import { SidecarMetrics } from "../../sidecar/metrics/sidecar-metrics.ts";
import { PeerMetrics } from "../../sidecar/peer/peer-metrics.ts";
import { createCloudMetrics } from "../../webhook/cloud/cloud-metrics.ts";
import { WebhookMetrics } from "../../webhook/metrics/webhook-metrics.ts";

/** The acr_p2p_* names, each once. */
export function acrP2pMetricNames(): string[] {
  const sidecar = new SidecarMetrics({ processMetrics: false });
  new PeerMetrics(sidecar.registry, () => ({ peers: 0, quarantined: 0, connections: 0 }));
  const webhook = new WebhookMetrics({ defaultMetrics: false });
  const cloud = new Registry();
  createCloudMetrics(cloud);
  const names = [sidecar.registry, webhook.registry, cloud].flatMap((r) =>
    r.getMetricsAsArray().map((m) => m.name),
  );
  return [...new Set(names)];
}

/** prom-client's default process and Node metrics, as both processes export them. */
export function processMetricNames(): string[] {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry.getMetricsAsArray().map((m) => m.name);
}
