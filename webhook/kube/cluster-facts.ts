/**
 * The facts an admission reads from the cluster, cached so the hot path rarely waits on the
 * apiserver: a namespace's labels and LimitRanges for `namespaceTtlMs` (a change shows up within that
 * time) and the server version for `versionTtlMs` (the last good answer is kept while a refresh
 * fails). One fetch per key is in flight at a time, held here rather than in a module global.
 */
import { boundedCache } from "../../lib/bounded-cache.ts";
import type { KubeApi, LimitRangeObject, ServerVersion } from "./kube-api.ts";

/** Namespaces whose facts are kept; past it the least recently asked for goes first. */
const NAMESPACE_ENTRIES = 4096;

export interface NamespaceFacts {
  /** False when the namespace does not exist (yet): treated as having no labels. */
  readonly exists: boolean;
  readonly labels: Readonly<Record<string, string>>;
  /** The namespace's LimitRanges; undefined when they could not be read (the lookup error). */
  readonly limitRanges: readonly LimitRangeObject[] | undefined;
  readonly limitRangeError?: unknown;
}

interface Cached<T> {
  readonly value: T;
  readonly at: number;
}

export interface ClusterFactsOptions {
  readonly namespaceTtlMs?: number;
  readonly versionTtlMs?: number;
  readonly now?: () => number;
}

export class ClusterFacts {
  readonly #api: KubeApi;
  readonly #namespaceTtlMs: number;
  readonly #versionTtlMs: number;
  readonly #now: () => number;
  readonly #namespaces = boundedCache<string, Cached<NamespaceFacts>>(NAMESPACE_ENTRIES);
  readonly #inflight = new Map<string, Promise<NamespaceFacts>>();
  #version: Cached<ServerVersion> | undefined;
  #versionInflight: Promise<ServerVersion> | undefined;

  constructor(api: KubeApi, options: ClusterFactsOptions = {}) {
    this.#api = api;
    this.#namespaceTtlMs = options.namespaceTtlMs ?? 5000;
    this.#versionTtlMs = options.versionTtlMs ?? 10 * 60 * 1000;
    this.#now = options.now ?? Date.now;
  }

  async namespace(name: string): Promise<NamespaceFacts> {
    const cached = this.#namespaces.get(name);
    if (cached && this.#now() - cached.at < this.#namespaceTtlMs) return cached.value;
    const running = this.#inflight.get(name);
    if (running) return running;
    const limitRanges = this.#api.listLimitRanges(name).then(
      (list) => ({ list }),
      (error: unknown) => ({ list: undefined, error }),
    );
    const fetch = Promise.all([this.#api.getNamespace(name), limitRanges])
      .then(([ns, ranges]) => {
        const value: NamespaceFacts = {
          exists: ns !== undefined,
          labels: ns?.metadata.labels ?? {},
          limitRanges: ranges.list,
          ...(ranges.list === undefined && { limitRangeError: ranges.error }),
        };
        if (this.#namespaceTtlMs > 0) this.#namespaces.set(name, { value, at: this.#now() });
        return value;
      })
      .finally(() => this.#inflight.delete(name));
    this.#inflight.set(name, fetch);
    return fetch;
  }

  /** The server version; a failed refresh keeps the last good one, with none it throws. */
  async serverVersion(): Promise<ServerVersion> {
    const cached = this.#version;
    if (cached && this.#now() - cached.at < this.#versionTtlMs) return cached.value;
    this.#versionInflight ??= this.#api
      .serverVersion()
      .then((value) => {
        this.#version = { value, at: this.#now() };
        return value;
      })
      .catch((err: unknown) => {
        if (this.#version) return this.#version.value;
        throw err;
      })
      .finally(() => {
        this.#versionInflight = undefined;
      });
    return this.#versionInflight;
  }

  /** The version fetched so far, without I/O (for /readyz). */
  knownServerVersion(): ServerVersion | undefined {
    return this.#version?.value;
  }
}
