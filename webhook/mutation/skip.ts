/**
 * Why a pod was not injected: a stable code (metrics label, logs, audit annotation) and a message for
 * the user. A skip warns (AdmissionResponse `warnings`, shown by kubectl) once the pod has opted in:
 * the user asked for acceleration and did not get it.
 */

export type SkipReason =
  | "system-namespace"
  | "already-injected"
  | "opted-out"
  | "not-opted-in"
  | "namespace-lookup-failed"
  | "unsupported-os"
  | "not-pinned-to-virtual-nodes"
  | "kube-version-too-old"
  | "kube-version-unknown"
  | "invalid-override"
  | "invalid-image"
  | "registries-not-resolved"
  | "no-accelerated-images"
  | "port-collision"
  | "limit-range"
  | "object-limits"
  | "pull-secret-failed";

/** The reasons counted in acr_p2p_webhook_skips_total (an already injected pod is not a skip). */
export const SKIP_REASONS: readonly SkipReason[] = Object.freeze([
  "system-namespace",
  "opted-out",
  "not-opted-in",
  "namespace-lookup-failed",
  "unsupported-os",
  "not-pinned-to-virtual-nodes",
  "kube-version-too-old",
  "kube-version-unknown",
  "invalid-override",
  "invalid-image",
  "registries-not-resolved",
  "no-accelerated-images",
  "port-collision",
  "limit-range",
  "object-limits",
  "pull-secret-failed",
]);

const SILENT: ReadonlySet<SkipReason> = new Set([
  "system-namespace",
  "already-injected",
  "opted-out",
  "not-opted-in",
]);

export interface Skip {
  readonly reason: SkipReason;
  readonly message: string;
  /** Tell the user (the pod opted in and is left alone). */
  readonly warn: boolean;
}

export function skip(reason: SkipReason, message: string): Skip {
  return { reason, message, warn: !SILENT.has(reason) };
}
