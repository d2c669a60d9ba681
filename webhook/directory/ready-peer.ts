/**
 * Which pods are peers, and where. Pure functions over API objects, so the rule of design.md is tested
 * on plain objects: a peer is ready when it has a pod IP, is not being deleted, and its sidecar (a
 * native sidecar, so an init container) is started and ready. Pod Ready is deliberately not asked
 * for: a pod whose app images are still pulling is Pending, and those are the peers that matter.
 */
import type { V1Namespace, V1Node, V1Pod } from "@kubernetes/client-node";
import { peerGroupOf, ZONE_LABEL } from "../../contract/peer-group.ts";
import { sidecarOption } from "../../contract/sidecar-options.ts";
import { P2P_CONFIG_ANNOTATION, SIDECAR_CONTAINER_NAME } from "../mutation/names.ts";

export interface PeerRules {
  /** Name of the injected sidecar container. */
  readonly sidecarName: string;
  /** Peer port when the pod's p2p-config annotation names none. */
  readonly defaultPeerPort: number;
}

/** What the webhook injects: its sidecar's name, and the peer port when the annotation names none. */
export const DEFAULT_PEER_RULES: PeerRules = Object.freeze({
  sidecarName: SIDECAR_CONTAINER_NAME,
  defaultPeerPort: Number(sidecarOption("peerPort").default),
});

/** Not being deleted and not finished: a pod that is, or may become, a peer. */
function isLive(pod: V1Pod): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  return pod.status?.phase !== "Succeeded" && pod.status?.phase !== "Failed";
}

export function isReadyPeer(pod: V1Pod, rules: PeerRules): boolean {
  if (!pod.status?.podIP || !isLive(pod)) return false;
  const sidecar = pod.status.initContainerStatuses?.find((s) => s.name === rules.sidecarName);
  return sidecar?.started === true && sidecar.ready === true && peerSharingOf(pod);
}

/**
 * A peer on its way: scheduled, not being deleted, sharing, its sidecar not ready yet. Counted per set
 * so that a sidecar alone so far knows others follow (it then reads the registry block by block, which
 * the newcomers can take over, instead of in long segments they cannot).
 */
export function isStartingPeer(pod: V1Pod, rules: PeerRules): boolean {
  if (!pod.spec?.nodeName || !isLive(pod)) return false;
  return peerSharingOf(pod) && !isReadyPeer(pod, rules);
}

function p2pConfig(pod: V1Pod): Record<string, unknown> | undefined {
  const text = pod.metadata?.annotations?.[P2P_CONFIG_ANNOTATION];
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === "object" ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A pod that opted out of peer sharing pulls through its sidecar but serves nobody (p2p-config.ts). */
function peerSharingOf(pod: V1Pod): boolean {
  return p2pConfig(pod)?.["peerSharing"] !== false;
}

export function peerPortOf(pod: V1Pod, rules: PeerRules): number {
  const ports = p2pConfig(pod)?.["ports"] as Record<string, unknown> | undefined;
  const port = ports?.["peer"];
  return typeof port === "number" && Number.isInteger(port) && port > 0 && port < 65536
    ? port
    : rules.defaultPeerPort;
}

export function zoneOfNode(node: V1Node | undefined): string {
  return node?.metadata?.labels?.[ZONE_LABEL] ?? "";
}

export function groupOfNamespace(name: string, ns: V1Namespace | undefined): string {
  return peerGroupOf(name, ns?.metadata?.labels ?? {});
}

/** `ip:port`; IPv6 pod IPs are bracketed. */
export function peerAddress(pod: V1Pod, rules: PeerRules): string {
  const ip = pod.status?.podIP ?? "";
  const host = ip.includes(":") ? `[${ip}]` : ip;
  return `${host}:${peerPortOf(pod, rules)}`;
}
