/**
 * Whether the sidecar fits the namespace's LimitRanges. The API server's LimitRanger checks every
 * container of a pod against them after the webhooks ran, and rejects the whole pod when one does not
 * fit: a sidecar over a LimitRange's maximum would make every pod of a Deployment fail to create. So
 * the webhook checks first and leaves such a pod alone, saying which LimitRange and which numbers.
 *
 * Checked: Container max, min and maxLimitRequestRatio for cpu and memory against the sidecar; Pod max
 * against the sidecar's limits plus those of the containers that run for the pod's life (app
 * containers and native sidecars; init containers that run to completion before them are left out).
 */
import type { LimitRangeObject } from "../kube/kube-api.ts";
import type { PodSpec } from "./pod.ts";
import { parseQuantity } from "../config/quantity.ts";

/** The sidecar's resources in base units (cores, bytes), with their text as it goes into the pod. */
export interface SidecarResources {
  readonly cpuRequest: string;
  readonly cpuLimit: string;
  readonly memoryRequestBytes: number;
  readonly memoryLimitBytes: number;
}

type Resource = "cpu" | "memory";
const RESOURCES: readonly Resource[] = ["cpu", "memory"];

function amount(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  return typeof value === "number" ? value : parseQuantity(value);
}

/** The first way the sidecar would break a LimitRange of the namespace, or undefined when it fits. */
export function limitRangeConflict(
  ranges: readonly LimitRangeObject[],
  sidecar: SidecarResources,
  spec: PodSpec,
): string | undefined {
  const request: Record<Resource, number> = {
    cpu: parseQuantity(sidecar.cpuRequest) ?? 0,
    memory: sidecar.memoryRequestBytes,
  };
  const limit: Record<Resource, number> = {
    cpu: parseQuantity(sidecar.cpuLimit) ?? 0,
    memory: sidecar.memoryLimitBytes,
  };
  for (const range of ranges) {
    for (const item of range.limits) {
      for (const resource of RESOURCES) {
        const max = amount(item.max?.[resource]);
        const min = amount(item.min?.[resource]);
        const ratio = amount(item.maxLimitRequestRatio?.[resource]);
        const where = `LimitRange ${range.name}`;
        if (item.type === "Container") {
          if (max !== undefined && limit[resource] > max) {
            return `${where} allows a container at most ${resource} ${item.max?.[resource]}; the sidecar's limit is ${show(resource, limit[resource])}`;
          }
          if (min !== undefined && request[resource] < min) {
            return `${where} requires a container to request at least ${resource} ${item.min?.[resource]}; the sidecar requests ${show(resource, request[resource])}`;
          }
          if (ratio !== undefined && request[resource] > 0 && limit[resource] / request[resource] > ratio) {
            return `${where} allows a ${resource} limit at most ${item.maxLimitRequestRatio?.[resource]}x the request; the sidecar's is ${show(resource, limit[resource])} over ${show(resource, request[resource])}`;
          }
        } else if (item.type === "Pod" && max !== undefined) {
          const total = limit[resource] + podLimits(spec, resource);
          if (total > max) {
            return `${where} allows a pod at most ${resource} ${item.max?.[resource]}; with the sidecar its containers' limits add up to ${show(resource, total)}`;
          }
        }
      }
    }
  }
  return undefined;
}

/** Limits of the containers that run for the pod's life: app containers and native sidecars. */
function podLimits(spec: PodSpec, resource: Resource): number {
  const running = [
    ...spec.containers,
    ...(spec.initContainers ?? []).filter((c) => c.restartPolicy === "Always"),
  ];
  return running.reduce((sum, c) => sum + (amount(c.resources?.limits?.[resource] ?? undefined) ?? 0), 0);
}

function show(resource: Resource, value: number): string {
  if (resource === "cpu") {
    const milli = Math.round(value * 1000);
    return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
  }
  const MiB = 2 ** 20;
  return value % MiB === 0 ? `${value / MiB}Mi` : `${value} bytes`;
}
