/**
 * Informers over peer pods (label acr-p2p/peer=true), nodes (zone label) and namespaces (shared group
 * label), feeding the directory a fresh snapshot after every change. client-node's ListWatch relists by
 * itself on 410 Gone, but stops on any other error (apiserver down, connection reset): then it is
 * restarted here after a short backoff, and resumes from its resourceVersion or relists.
 */
import { CoreV1Api, makeInformer } from "@kubernetes/client-node";
import type { Informer, KubeConfig, KubernetesObject, ObjectCache } from "@kubernetes/client-node";
import type { Logger } from "../../lib/logger.ts";
import { PEER_LABEL } from "../../contract/peer-group.ts";
import type { ClusterSnapshot } from "./peer-sets.ts";

export interface ClusterWatchOptions {
  readonly kubeConfig: KubeConfig;
  readonly logger: Logger;
  /** Called (debounced) after changes; `complete` once every informer has listed at least once. */
  readonly onSnapshot: (snapshot: ClusterSnapshot, complete: boolean) => void;
  readonly debounceMs?: number;
  /** Longest wait between restarts of a failed informer. */
  readonly maxRestartDelayMs?: number;
  /** Told after every successful list (first sync, and relists after 410 Gone). */
  readonly onList?: (resource: string) => void;
}

export interface ClusterWatch {
  stop(): Promise<void>;
}

type Watched<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

export function startClusterWatch(opts: ClusterWatchOptions): ClusterWatch {
  const core = opts.kubeConfig.makeApiClient(CoreV1Api);
  const selector = `${PEER_LABEL}=true`;
  const listed = new Set<string>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const schedule = (): void => {
    if (timer !== undefined || stopped) return;
    timer = setTimeout(() => {
      timer = undefined;
      const snapshot = { pods: pods.list(), nodes: nodes.list(), namespaces: namespaces.list() };
      opts.onSnapshot(snapshot, listed.size === 3);
    }, opts.debounceMs ?? 20);
  };
  // Marks an informer as listed and makes sure a snapshot follows even when the list changed nothing.
  const listing =
    <T>(name: string, list: () => Promise<T>) =>
    async (): Promise<T> => {
      const result = await list();
      listed.add(name);
      opts.onList?.(name);
      schedule();
      return result;
    };

  const pods = makeInformer(
    opts.kubeConfig,
    "/api/v1/pods",
    listing("pods", () => core.listPodForAllNamespaces({ labelSelector: selector })),
    selector,
  );
  const nodes = makeInformer(
    opts.kubeConfig,
    "/api/v1/nodes",
    listing("nodes", () => core.listNode()),
  );
  const namespaces = makeInformer(
    opts.kubeConfig,
    "/api/v1/namespaces",
    listing("namespaces", () => core.listNamespace()),
  );

  const restarts: NodeJS.Timeout[] = [];
  function supervise<T extends KubernetesObject>(name: string, informer: Watched<T>): void {
    let failures = 0;
    let lastFailure = 0;
    informer.on("add", schedule);
    informer.on("update", schedule);
    informer.on("delete", schedule);
    informer.on("error", (err: unknown) => {
      if (stopped) return;
      const now = Date.now();
      failures = now - lastFailure > 30_000 ? 1 : failures + 1;
      lastFailure = now;
      const delay = Math.min(opts.maxRestartDelayMs ?? 5_000, 250 * 2 ** failures);
      opts.logger.warn({ informer: name, err: String(err), delayMs: delay }, "watch failed; restarting");
      const t = setTimeout(() => {
        restarts.splice(restarts.indexOf(t), 1);
        if (!stopped) informer.start().catch(() => {});
      }, delay);
      restarts.push(t);
    });
    informer.start().catch(() => {});
  }
  supervise("pods", pods);
  supervise("nodes", nodes);
  supervise("namespaces", namespaces);

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      for (const t of restarts) clearTimeout(t);
      await Promise.all([pods.stop(), nodes.stop(), namespaces.stop()]);
    },
  };
}
