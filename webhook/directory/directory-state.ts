/**
 * The directory's current peer sets and the long-polls waiting on them. The watcher feeds it
 * snapshots; each request reads a set and may wait until that set's etag changes.
 */
import type { V1Namespace, V1Node, V1Pod } from "@kubernetes/client-node";
import { computePeerSets, emptySet, setKey } from "./peer-sets.ts";
import type { ClusterSnapshot, PeerSet } from "./peer-sets.ts";
import type { PeerRules } from "./ready-peer.ts";
import { groupOfNamespace, isStartingPeer, zoneOfNode } from "./ready-peer.ts";

/** Where a caller pod belongs. */
export interface PeerPlacement {
  readonly pod: V1Pod;
  readonly group: string;
  readonly zone: string;
  /** The pod counts among its set's starting peers (its own sidecar is not ready yet). */
  readonly starting: boolean;
}

export class DirectoryState {
  readonly #rules: PeerRules;
  #sets = new Map<string, PeerSet>();
  #pods = new Map<string, V1Pod>();
  #nodes = new Map<string, V1Node>();
  #namespaces = new Map<string, V1Namespace>();
  #waiters = new Set<() => void>();
  #synced = false;

  constructor(rules: PeerRules) {
    this.#rules = rules;
  }

  /** True once a complete snapshot (every informer listed) has been seen. */
  get synced(): boolean {
    return this.#synced;
  }

  update(snapshot: ClusterSnapshot, complete = true): void {
    this.#sets = computePeerSets(snapshot, this.#rules);
    this.#pods = new Map(snapshot.pods.map((p) => [`${p.metadata?.namespace}/${p.metadata?.name}`, p]));
    this.#nodes = new Map(snapshot.nodes.map((n) => [n.metadata?.name ?? "", n]));
    this.#namespaces = new Map(snapshot.namespaces.map((n) => [n.metadata?.name ?? "", n]));
    this.#synced ||= complete;
    const waiters = this.#waiters;
    this.#waiters = new Set();
    for (const wake of waiters) wake();
  }

  get(group: string, zone: string): PeerSet {
    return this.#sets.get(setKey(group, zone)) ?? emptySet(group, zone);
  }

  /** The caller's pod (by namespace/name, and uid when given), its group and zone; undefined if gone. */
  placement(namespace: string, name: string, uid?: string): PeerPlacement | undefined {
    const pod = this.#pods.get(`${namespace}/${name}`);
    if (!pod || pod.metadata?.deletionTimestamp || (uid !== undefined && pod.metadata?.uid !== uid))
      return undefined;
    return {
      pod,
      group: groupOfNamespace(namespace, this.#namespaces.get(namespace)),
      zone: zoneOfNode(this.#nodes.get(pod.spec?.nodeName ?? "")),
      starting: isStartingPeer(pod, this.#rules),
    };
  }

  /** Resolves with the set once its etag differs from `etag`, or with the current set after `timeoutMs`. */
  waitForChange(
    group: string,
    zone: string,
    etag: string,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<PeerSet> {
    return new Promise((resolve) => {
      const current = this.get(group, zone);
      if (current.etag !== etag || timeoutMs <= 0 || signal.aborted) return resolve(current);
      const finish = (): void => {
        clearTimeout(timer);
        signal.removeEventListener("abort", finish);
        this.#waiters.delete(check);
        resolve(this.get(group, zone));
      };
      const check = (): void => {
        if (this.get(group, zone).etag !== etag) finish();
        else this.#waiters.add(check);
      };
      const timer = setTimeout(finish, timeoutMs);
      signal.addEventListener("abort", finish, { once: true });
      this.#waiters.add(check);
    });
  }
}
