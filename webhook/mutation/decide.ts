/**
 * Whether to inject a pod, and how: a pure function of the pod, the configuration and the facts the
 * admission read from the cluster beforehand. Every "no" is a Skip with a reason and a message.
 */
import { peerGroupOf } from "../../contract/peer-group.ts";
import type { MutationConfig } from "../config/webhook-config.ts";
import type { LimitRangeObject, ServerVersion } from "../kube/kube-api.ts";
import { ImageError, planImages, type ImagePlan } from "./image-plan.ts";
import {
  ACCELERATE_MODE,
  ACCELERATE_MODE_P2P,
  HEALTH_PORT_NAME,
  MIN_KUBE_VERSION,
  P2P_CONFIG_ANNOTATION,
  PEER_PORT_NAME,
  SIDECAR_CONTAINER_NAME,
} from "./names.ts";
import { OverrideError, sidecarSizing, type SidecarSizing } from "./overrides.ts";
import { limitRangeConflict } from "./limit-range-fit.ts";
import { virtualNodePlacement } from "./placement.ts";
import { containerSlots, type Pod } from "./pod.ts";
import { skip, type Skip } from "./skip.ts";

export interface PodFacts {
  readonly namespace: string;
  /** The namespace's labels; undefined when they could not be read. */
  readonly namespaceLabels: Readonly<Record<string, string>> | undefined;
  /** Undefined when the version could not be read. */
  readonly serverVersion: ServerVersion | undefined;
  readonly acceleratedHosts: ReadonlySet<string>;
  readonly resolverReady: boolean;
  /** The namespace's LimitRanges; undefined when they could not be read (the sidecar is then not checked). */
  readonly limitRanges?: readonly LimitRangeObject[] | undefined;
}

export interface InjectionPlan {
  readonly namespace: string;
  /** Peer group (contract/peer-group.ts): the namespace, or `shared:<name>`. */
  readonly group: string;
  readonly images: ImagePlan;
  readonly sizing: SidecarSizing;
}

export type Decision =
  { readonly inject: false; readonly skip: Skip } | { readonly inject: true; readonly plan: InjectionPlan };

const KUBE_SYSTEM = "kube-system";

/** The checks that need no cluster facts: the admission runs them before any I/O. */
export function precheck(pod: Pod, namespace: string, config: MutationConfig): Skip | undefined {
  if (namespace === KUBE_SYSTEM || namespace === config.ownNamespace) {
    return skip("system-namespace", `namespace ${namespace} is never injected`);
  }
  const initNames = (pod.spec.initContainers ?? []).map((c) => c.name);
  if (
    initNames.includes(SIDECAR_CONTAINER_NAME) ||
    pod.spec.containers.some((c) => c.name === SIDECAR_CONTAINER_NAME)
  ) {
    return skip("already-injected", `the pod already has a container named ${SIDECAR_CONTAINER_NAME}`);
  }
  if (pod.metadata?.annotations?.[P2P_CONFIG_ANNOTATION] !== undefined) {
    return skip("already-injected", `the pod already carries ${P2P_CONFIG_ANNOTATION}`);
  }
  const label = pod.metadata?.labels?.[ACCELERATE_MODE];
  if (label !== undefined && label !== ACCELERATE_MODE_P2P) {
    return skip("opted-out", `pod label ${ACCELERATE_MODE}=${label} opts it out`);
  }
  return undefined;
}

export function decide(pod: Pod, config: MutationConfig, facts: PodFacts): Decision {
  const no = (s: Skip): Decision => ({ inject: false, skip: s });
  const early = precheck(pod, facts.namespace, config);
  if (early) return no(early);

  const podOptIn = pod.metadata?.labels?.[ACCELERATE_MODE] === ACCELERATE_MODE_P2P;
  if (!podOptIn) {
    if (facts.namespaceLabels === undefined) {
      return no(
        skip(
          "namespace-lookup-failed",
          `could not read namespace ${facts.namespace}'s labels to check its opt-in`,
        ),
      );
    }
    if (facts.namespaceLabels[ACCELERATE_MODE] !== ACCELERATE_MODE_P2P) {
      return no(
        skip(
          "not-opted-in",
          `neither the pod nor namespace ${facts.namespace} is labelled ${ACCELERATE_MODE}=${ACCELERATE_MODE_P2P}`,
        ),
      );
    }
  }

  const spec = pod.spec;
  if (spec.os?.name !== undefined && spec.os.name !== "linux") {
    return no(skip("unsupported-os", `the sidecar runs on Linux; spec.os.name is ${spec.os.name}`));
  }
  if (!config.serverless) {
    const placement = virtualNodePlacement(spec, pod.metadata?.labels ?? {}, facts.namespaceLabels ?? {});
    if (!placement.pinned) {
      return no(skip("not-pinned-to-virtual-nodes", `mixed cluster and the pod is ${placement.detail}`));
    }
  }
  const version = facts.serverVersion;
  if (version === undefined) {
    return no(
      skip(
        "kube-version-unknown",
        "could not read the Kubernetes server version (native sidecars need >= 1.29)",
      ),
    );
  }
  const min = MIN_KUBE_VERSION;
  if (version.major < min.major || (version.major === min.major && version.minor < min.minor)) {
    return no(
      skip(
        "kube-version-too-old",
        `Kubernetes ${version.gitVersion} has no native sidecars (needs >= ${min.major}.${min.minor})`,
      ),
    );
  }

  let sizing: SidecarSizing;
  try {
    sizing = sidecarSizing(pod.metadata?.annotations ?? {}, config);
  } catch (err) {
    if (err instanceof OverrideError) return no(skip("invalid-override", err.message));
    throw err;
  }

  let images: ImagePlan;
  try {
    images = planImages(spec, facts.acceleratedHosts, config.sidecar.port);
  } catch (err) {
    if (err instanceof ImageError) return no(skip("invalid-image", err.message));
    throw err;
  }
  if (images.rewrites.length === 0) {
    if (!facts.resolverReady)
      return no(skip("registries-not-resolved", "the accelerated registries are not resolved yet"));
    return no(skip("no-accelerated-images", "no image comes from an accelerated registry"));
  }

  const collision = portCollision(pod, config);
  if (collision) return no(skip("port-collision", collision));

  const resources = {
    cpuRequest: config.resources.cpuRequest,
    cpuLimit: config.resources.cpuLimit,
    memoryRequestBytes: config.resources.memoryRequestBytes,
    memoryLimitBytes: sizing.memoryLimitBytes,
  };
  const misfit = limitRangeConflict(facts.limitRanges ?? [], resources, spec);
  if (misfit) return no(skip("limit-range", misfit));

  const group = peerGroupOf(facts.namespace, facts.namespaceLabels ?? {});
  return { inject: true, plan: { namespace: facts.namespace, group, images, sizing } };
}

/** The first app port (container or host port, or port name) the sidecar would collide with. */
function portCollision(pod: Pod, config: MutationConfig): string | undefined {
  const s = config.sidecar;
  const ours = new Map<number, string>([
    [s.port, "registry front"],
    [s.peerPort, "peer"],
    [s.healthPort, "health"],
  ]);
  for (const { container } of containerSlots(pod.spec)) {
    for (const p of container.ports ?? []) {
      for (const port of [p.containerPort, p.hostPort]) {
        const use = port == null ? undefined : ours.get(port);
        if (use !== undefined) {
          return `container ${JSON.stringify(container.name)} uses port ${port}, the sidecar's ${use} port`;
        }
      }
      if (p.name != null && (p.name === PEER_PORT_NAME || p.name === HEALTH_PORT_NAME)) {
        return `container ${JSON.stringify(container.name)} has a port named ${p.name}, a name the sidecar's ports use`;
      }
    }
  }
  return undefined;
}
