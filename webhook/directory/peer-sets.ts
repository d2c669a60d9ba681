/**
 * The directory's view of the cluster: for every (group, zone), the sorted addresses of its ready peers,
 * how many more are starting, and an etag over both. Recomputed from the informers' caches on every
 * change (a pure function of pods, nodes and namespaces), so there is no incremental state to get wrong
 * after a relist.
 */
import { createHash } from "node:crypto";
import type { V1Namespace, V1Node, V1Pod } from "@kubernetes/client-node";
import { groupOfNamespace, isReadyPeer, isStartingPeer, peerAddress, zoneOfNode } from "./ready-peer.ts";
import type { PeerRules } from "./ready-peer.ts";

export interface PeerSet {
  readonly group: string;
  readonly zone: string;
  readonly peers: readonly string[];
  /** Pods of the set scheduled whose sidecar is not ready yet (isStartingPeer). */
  readonly starting: number;
  readonly etag: string;
}

export interface ClusterSnapshot {
  readonly pods: readonly V1Pod[];
  readonly nodes: readonly V1Node[];
  readonly namespaces: readonly V1Namespace[];
}

export function setKey(group: string, zone: string): string {
  return `${group}\u0000${zone}`;
}

export function etagOf(group: string, zone: string, peers: readonly string[], starting = 0): string {
  return createHash("sha256")
    .update(JSON.stringify([group, zone, peers, starting]))
    .digest("base64url")
    .slice(0, 22);
}

export function emptySet(group: string, zone: string): PeerSet {
  return { group, zone, peers: [], starting: 0, etag: etagOf(group, zone, []) };
}

export function computePeerSets(snap: ClusterSnapshot, rules: PeerRules): Map<string, PeerSet> {
  const nodes = new Map(snap.nodes.map((n) => [n.metadata?.name ?? "", n]));
  const namespaces = new Map(snap.namespaces.map((n) => [n.metadata?.name ?? "", n]));
  const members = new Map<string, { group: string; zone: string; peers: Set<string>; starting: number }>();
  for (const pod of snap.pods) {
    const ready = isReadyPeer(pod, rules);
    if (!ready && !isStartingPeer(pod, rules)) continue;
    const ns = pod.metadata?.namespace ?? "";
    const group = groupOfNamespace(ns, namespaces.get(ns));
    const zone = zoneOfNode(nodes.get(pod.spec?.nodeName ?? ""));
    const key = setKey(group, zone);
    let entry = members.get(key);
    if (!entry) members.set(key, (entry = { group, zone, peers: new Set(), starting: 0 }));
    if (ready) entry.peers.add(peerAddress(pod, rules));
    else entry.starting++;
  }
  const out = new Map<string, PeerSet>();
  for (const [key, { group, zone, peers, starting }] of members) {
    const sorted = [...peers].sort();
    out.set(key, { group, zone, peers: sorted, starting, etag: etagOf(group, zone, sorted, starting) });
  }
  return out;
}
