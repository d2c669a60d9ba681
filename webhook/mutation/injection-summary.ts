/**
 * What was injected, one short annotation per fact beside the `k8s.aliyun.com/p2p-config` JSON:
 * `kubectl describe pod` cuts annotation values after 140 characters, which the JSON always passes.
 * Each value here is bounded to fit.
 */
import type { MutationConfig } from "../config/webhook-config.ts";
import type { MutationDecisions } from "./compute-patch.ts";
import { formatBytes } from "./quantity.ts";

/** kubectl describe's cut. */
const DESCRIBE_WIDTH = 140;

function fit(value: string): string {
  return value.length <= DESCRIBE_WIDTH ? value : `${value.slice(0, DESCRIBE_WIDTH - 3)}...`;
}

export function injectionSummary(
  config: MutationConfig,
  decisions: MutationDecisions,
): Record<string, string> {
  const { plan } = decisions;
  const s = config.sidecar;
  const cacheBytes = s.cacheMode === "disk" ? s.capacityBytes : plan.sizing.cacheBytes;
  const images = plan.images.rewrites.map((r) => r.container);
  return {
    "acr-p2p/injected-images": fit(`${images.length} through 127.0.0.1:${s.port}: ${images.join(", ")}`),
    "acr-p2p/injected-cache": fit(`${s.cacheMode}, ${formatBytes(cacheBytes)}`),
    "acr-p2p/injected-group": fit(`${plan.group}, peer sharing ${plan.sizing.peerSharing ? "on" : "off"}`),
    "acr-p2p/injected-pull-secrets": fit(
      decisions.pullSecrets.length > 0 ? decisions.pullSecrets.join(", ") : "none",
    ),
  };
}
