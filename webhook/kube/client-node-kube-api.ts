/**
 * KubeApi over @kubernetes/client-node 2.x (object parameters; failures throw ApiException with the
 * HTTP status in `.code`). Every call is bounded by a timeout shorter than the webhook's own
 * `timeoutSeconds`, so a slow apiserver turns into a skipped injection, never a timed-out admission.
 */
import { loadKubeConfig } from "./load-kubeconfig.ts";
import { CoreV1Api, VersionApi, type V1Secret } from "@kubernetes/client-node";
import { callKube, readKube } from "./api-call.ts";
import {
  type LimitRangeObject,
  parseServerVersion,
  type KubeApi,
  type NamespaceObject,
  type ObjectMeta,
  type PodSummary,
  type EventObject,
  type SecretObject,
  type ServerVersion,
} from "./kube-api.ts";

export interface ClientNodeKubeApiOptions {
  /** kubeconfig file; undefined: in-cluster config, else ~/.kube/config (client-node's default order). */
  readonly kubeconfig?: string;
  readonly timeoutMs?: number;
}

export class ClientNodeKubeApi implements KubeApi {
  readonly #core: CoreV1Api;
  readonly #version: VersionApi;
  readonly #timeoutMs: number;

  constructor(options: ClientNodeKubeApiOptions = {}) {
    const kc = loadKubeConfig(options.kubeconfig);
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#version = kc.makeApiClient(VersionApi);
    // Short: an admission makes one to five rounds of calls (namespace and version are cached), and
    // the chart gives the whole admission timeoutSeconds: 5 before the pod goes through unmodified.
    this.#timeoutMs = options.timeoutMs ?? 1500;
  }

  async getNamespace(name: string): Promise<NamespaceObject | undefined> {
    const ns = await readKube(`get namespace ${name}`, this.#timeoutMs, () =>
      this.#core.readNamespace({ name }),
    );
    return ns === undefined ? undefined : { metadata: meta(ns.metadata, name) };
  }

  async getSecret(namespace: string, name: string): Promise<SecretObject | undefined> {
    const s = await readKube(`get secret ${namespace}/${name}`, this.#timeoutMs, () =>
      this.#core.readNamespacedSecret({ name, namespace }),
    );
    if (s === undefined) return undefined;
    return {
      metadata: meta(s.metadata, name),
      ...(s.type !== undefined && { type: s.type }),
      ...(s.data && { data: s.data }),
    };
  }

  async createSecret(namespace: string, secret: SecretObject): Promise<void> {
    const body = secretBody(namespace, secret);
    await callKube(`create secret ${namespace}/${secret.metadata.name}`, this.#timeoutMs, () =>
      this.#core.createNamespacedSecret({ namespace, body, fieldManager: "acr-p2p" }),
    );
  }

  async createEvent(namespace: string, event: EventObject): Promise<void> {
    const now = new Date();
    await callKube(`create event ${namespace}/${event.metadata.name}`, this.#timeoutMs, () =>
      this.#core.createNamespacedEvent({
        namespace,
        body: {
          ...event,
          metadata: { ...event.metadata, namespace },
          source: { component: "acr-p2p-webhook" },
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      }),
    );
  }

  async replaceSecret(namespace: string, secret: SecretObject): Promise<void> {
    const body = secretBody(namespace, secret);
    const name = secret.metadata.name;
    await callKube(`replace secret ${namespace}/${name}`, this.#timeoutMs, () =>
      this.#core.replaceNamespacedSecret({ name, namespace, body, fieldManager: "acr-p2p" }),
    );
  }

  async listLimitRanges(namespace: string): Promise<LimitRangeObject[]> {
    const list = await callKube(`list limitranges in ${namespace}`, this.#timeoutMs, () =>
      this.#core.listNamespacedLimitRange({ namespace }),
    );
    return list.items.map((lr) => ({
      name: lr.metadata?.name ?? "",
      limits: (lr.spec?.limits ?? []).map((l) => ({
        type: l.type,
        ...(l.max && { max: l.max }),
        ...(l.min && { min: l.min }),
        ...(l.maxLimitRequestRatio && { maxLimitRequestRatio: l.maxLimitRequestRatio }),
      })),
    }));
  }

  /** Paged (500 a page); each page bounded by a longer timeout: this runs in the background. */
  async listPods(labelSelector: string): Promise<PodSummary[]> {
    const out: PodSummary[] = [];
    let next: string | undefined;
    do {
      const page = await callKube(`list pods ${labelSelector}`, Math.max(this.#timeoutMs, 10_000), () =>
        this.#core.listPodForAllNamespaces({ labelSelector, limit: 500, ...(next && { _continue: next }) }),
      );
      for (const p of page.items) {
        out.push({
          namespace: p.metadata?.namespace ?? "",
          name: p.metadata?.name ?? "",
          imagePullSecrets: (p.spec?.imagePullSecrets ?? []).map((r) => r.name ?? ""),
        });
      }
      next = page.metadata?._continue || undefined;
    } while (next);
    return out;
  }

  async serverVersion(): Promise<ServerVersion> {
    const v = await callKube("get server version", this.#timeoutMs, () => this.#version.getCode());
    return parseServerVersion(v.major, v.minor, v.gitVersion);
  }
}

function secretBody(namespace: string, secret: SecretObject): V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { ...secret.metadata, namespace } as V1Secret["metadata"],
    ...(secret.type !== undefined && { type: secret.type }),
    ...(secret.data && { data: { ...secret.data } }),
  };
}

function meta(
  m:
    | {
        name?: string;
        namespace?: string;
        labels?: Record<string, string>;
        annotations?: Record<string, string>;
      }
    | undefined,
  name: string,
): ObjectMeta {
  return {
    name: m?.name ?? name,
    ...(m?.namespace !== undefined && { namespace: m.namespace }),
    ...(m?.labels && { labels: m.labels }),
    ...(m?.annotations && { annotations: m.annotations }),
  };
}
