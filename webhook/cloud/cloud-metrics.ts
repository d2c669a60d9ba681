/**
 * Prometheus metrics of the cloud layer, registered on the controller's registry (one per process;
 * tests pass their own so counts start at zero).
 */
import { Counter, Gauge, type Registry } from "prom-client";

export interface CloudMetrics {
  /** One per failed resolution of an instance, by the error code (CR_API_UNAVAILABLE, CREDENTIALS_UNAVAILABLE, ...). */
  readonly resolveFailures: Counter<"instance" | "code">;
  readonly resolvedHosts: Gauge<"instance">;
  readonly lastSuccess: Gauge<"instance">;
  readonly tempCredentialFailures: Counter<"instance" | "code">;
  readonly tempCredentialExpiry: Gauge<"instance">;
}

export function createCloudMetrics(registry: Registry): CloudMetrics {
  const registers = [registry];
  return {
    resolveFailures: new Counter({
      name: "acr_p2p_acr_resolve_failures_total",
      help: "Failed resolutions of an ACR instance's registry hosts (the last good set stays in use).",
      labelNames: ["instance", "code"],
      registers,
    }),
    resolvedHosts: new Gauge({
      name: "acr_p2p_acr_resolved_hosts",
      help: "Registry host names currently accelerated for an ACR instance.",
      labelNames: ["instance"],
      registers,
    }),
    lastSuccess: new Gauge({
      name: "acr_p2p_acr_resolve_last_success_timestamp_seconds",
      help: "When an ACR instance's hosts were last resolved successfully.",
      labelNames: ["instance"],
      registers,
    }),
    tempCredentialFailures: new Counter({
      name: "acr_p2p_acr_temp_credential_failures_total",
      help: "Failed GetAuthorizationToken calls or pull secret writes for ACR temporary credentials.",
      labelNames: ["instance", "code"],
      registers,
    }),
    tempCredentialExpiry: new Gauge({
      name: "acr_p2p_acr_temp_credential_expiry_timestamp_seconds",
      help: "When the ACR temporary password in the pull secrets expires.",
      labelNames: ["instance"],
      registers,
    }),
  };
}
