/**
 * What was injected, one short annotation per fact beside the `k8s.aliyun.com/p2p-config` JSON and
 * read from the same record: `kubectl describe pod` cuts annotation values after 140 characters,
 * which the JSON always passes. Each value here is bounded to fit.
 */
import type { P2pConfig } from "./p2p-config.ts";
import { formatBytes } from "../config/quantity.ts";

/** kubectl describe's cut. */
const DESCRIBE_WIDTH = 140;

function fit(value: string): string {
  return value.length <= DESCRIBE_WIDTH ? value : `${value.slice(0, DESCRIBE_WIDTH - 3)}...`;
}

export function injectionSummary(injected: P2pConfig): Record<string, string> {
  const images = Object.keys(injected.images);
  return {
    "acr-p2p/injected-images": fit(
      `${images.length} through 127.0.0.1:${injected.ports.registry}: ${images.join(", ")}`,
    ),
    "acr-p2p/injected-cache": fit(`${injected.cache.mode}, ${formatBytes(injected.cache.sizeBytes)}`),
    "acr-p2p/injected-group": fit(`${injected.group}, peer sharing ${injected.peerSharing ? "on" : "off"}`),
    "acr-p2p/injected-pull-secrets": fit(
      injected.pullSecrets.length > 0 ? injected.pullSecrets.join(", ") : "none",
    ),
  };
}
