/**
 * The `k8s.aliyun.com/p2p-config` annotation: what was injected, readable with `kubectl describe pod`
 * and versioned so a later controller can tell old injections apart.
 */
import type { MutationConfig } from "../config/webhook-config.ts";
import type { InjectionPlan } from "./decide.ts";

export const P2P_CONFIG_VERSION = 1;

export interface P2pConfig {
  readonly version: number;
  readonly sidecarImage: string;
  readonly ports: { readonly registry: number; readonly peer: number; readonly health: number };
  readonly cache: { readonly mode: string; readonly sizeBytes: number };
  readonly group: string;
  readonly peerSharing: boolean;
  /** Per container name: the image as written and as rewritten. */
  readonly images: Readonly<Record<string, { readonly from: string; readonly to: string }>>;
  readonly pullSecrets: readonly string[];
}

/** What was injected, as one record: the JSON annotation and its short per-fact companions both read it. */
export function p2pConfig(
  config: MutationConfig,
  plan: InjectionPlan,
  pullSecrets: readonly string[],
): P2pConfig {
  const s = config.sidecar;
  return {
    version: P2P_CONFIG_VERSION,
    sidecarImage: config.sidecarImage,
    ports: { registry: s.port, peer: s.peerPort, health: s.healthPort },
    cache: {
      mode: s.cacheMode,
      sizeBytes: s.cacheMode === "disk" ? s.capacityBytes : plan.sizing.cacheBytes,
    },
    group: plan.group,
    peerSharing: plan.sizing.peerSharing,
    images: Object.fromEntries(plan.images.rewrites.map((r) => [r.container, { from: r.from, to: r.to }])),
    pullSecrets: [...pullSecrets],
  };
}

export function p2pConfigAnnotation(value: P2pConfig): string {
  return JSON.stringify(value);
}
