/** Pod, Node and Namespace objects as the apiserver would hold them, for the directory's tests. */
import type { V1Namespace, V1Node, V1Pod } from "@kubernetes/client-node";
import { SIDECAR_CONTAINER_NAME } from "../../../webhook/mutation/names.ts";

/** A peer pod; `sidecar: null` means no sidecar status at all. */
export function peerPod(
  ns: string,
  name: string,
  node: string,
  ip: string | undefined,
  sidecar: { started?: boolean; ready?: boolean } | null = { started: true, ready: true },
  extra: { deleting?: boolean; phase?: string; annotations?: Record<string, string> } = {},
): V1Pod {
  return {
    metadata: {
      namespace: ns,
      name,
      uid: `${ns}-${name}-uid`,
      labels: { "acr-p2p/peer": "true" },
      annotations: extra.annotations,
      deletionTimestamp: extra.deleting ? new Date() : undefined,
    },
    spec: { nodeName: node, containers: [] },
    status: {
      phase: extra.phase ?? "Pending",
      podIP: ip,
      initContainerStatuses: sidecar
        ? [
            {
              name: SIDECAR_CONTAINER_NAME,
              image: "x",
              imageID: "",
              restartCount: 0,
              started: sidecar.started,
              ready: sidecar.ready ?? false,
            },
          ]
        : [],
    },
  };
}

export function node(name: string, zone: string): V1Node {
  return { metadata: { name, labels: { "topology.kubernetes.io/zone": zone } } };
}

export function namespace(name: string, labels: Record<string, string> = {}): V1Namespace {
  return { metadata: { name, labels } };
}
