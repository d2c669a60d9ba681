/**
 * Pods for the cluster tier's injection tests and what to check on them (design.md "Names" and
 * "User-facing contract").
 *
 *   appPod(name, opts) -> V1Pod        a pod with one accelerated and one other image
 *   isInjected(pod) -> boolean         sidecar first, restartPolicy Always, the p2p-config annotation
 *   REWRITTEN_APP_IMAGE                what the accelerated image becomes
 */
import type { V1Pod, V1PodSpec } from "@kubernetes/client-node";
import { SIDECAR_IMAGE, TEST_REGISTRY, TEST_REGISTRY_PATH } from "./cluster-chart.ts";
import { MODE_LABEL } from "./cluster-objects.ts";

export const APP_IMAGE = `${TEST_REGISTRY}/shop/web:1.4.2`;
export const REWRITTEN_APP_IMAGE = `127.0.0.1:65001/${TEST_REGISTRY_PATH}/shop/web:1.4.2`;
export const OTHER_IMAGE = "docker.io/library/busybox:1.36";
export const P2P_CONFIG = "k8s.aliyun.com/p2p-config";
export const PLAIN_HTTP = "k8s.aliyun.com/plain-http-registry";

/** A PodSecurity "restricted" container security context. */
export const RESTRICTED = {
  runAsNonRoot: true,
  runAsUser: 1000,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

export interface AppPodOptions {
  label?: string;
  generateName?: boolean;
  spec?: Partial<V1PodSpec>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}

export function appPod(name: string, opts: AppPodOptions = {}): V1Pod {
  const resources = opts.resources ?? {};
  return {
    metadata: {
      ...(opts.generateName ? { generateName: `${name}-` } : { name }),
      labels: { app: name, ...(opts.label !== undefined ? { [MODE_LABEL]: opts.label } : {}) },
    },
    spec: {
      containers: [
        {
          name: "web",
          image: APP_IMAGE,
          ports: [{ containerPort: 8080 }],
          resources,
          securityContext: RESTRICTED,
        },
        { name: "log", image: OTHER_IMAGE, resources, securityContext: RESTRICTED },
      ],
      ...opts.spec,
    },
  };
}

/** The injected sidecar: the init container running the sidecar image (the chart's, by default). */
export function sidecarOf(pod: V1Pod, sidecarImage = SIDECAR_IMAGE) {
  return pod.spec?.initContainers?.find((c) => c.image === sidecarImage);
}

export function isInjected(pod: V1Pod): boolean {
  const restartable = pod.spec?.initContainers?.some((c) => c.restartPolicy === "Always") ?? false;
  return restartable || pod.metadata?.annotations?.[P2P_CONFIG] !== undefined;
}

/** Everything a pod that was left alone must still look like. */
export function expectUntouched(pod: V1Pod): string[] {
  const problems: string[] = [];
  if (pod.spec?.initContainers?.length) problems.push("has init containers");
  if (pod.spec?.containers[0]?.image !== APP_IMAGE) problems.push(`image ${pod.spec?.containers[0]?.image}`);
  if (pod.metadata?.annotations?.[P2P_CONFIG] !== undefined) problems.push("has the p2p-config annotation");
  return problems;
}
