/**
 * KubeApi over @kubernetes/client-node 2.x (object parameters; failures throw ApiException with the
 * HTTP status in `.code`). Every call is bounded by a timeout shorter than the webhook's own
 * `timeoutSeconds`, so a slow apiserver turns into a skipped injection, never a timed-out admission.
 */
import { ApiException, CoreV1Api, KubeConfig, VersionApi, type V1Secret } from "@kubernetes/client-node";
import {
  KubeApiError,
  parseServerVersion,
  type KubeApi,
  type NamespaceObject,
  type ObjectMeta,
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
    const kc = new KubeConfig();
    if (options.kubeconfig !== undefined) kc.loadFromFile(options.kubeconfig);
    else kc.loadFromDefault();
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#version = kc.makeApiClient(VersionApi);
    this.#timeoutMs = options.timeoutMs ?? 3000;
  }

  async getNamespace(name: string): Promise<NamespaceObject | undefined> {
    const ns = await this.#read(`get namespace ${name}`, () => this.#core.readNamespace({ name }));
    return ns === undefined ? undefined : { metadata: meta(ns.metadata, name) };
  }

  async getSecret(namespace: string, name: string): Promise<SecretObject | undefined> {
    const s = await this.#read(`get secret ${namespace}/${name}`, () =>
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
    const body: V1Secret = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { ...secret.metadata, namespace } as V1Secret["metadata"],
      ...(secret.type !== undefined && { type: secret.type }),
      ...(secret.data && { data: { ...secret.data } }),
    };
    await this.#call(`create secret ${namespace}/${secret.metadata.name}`, () =>
      this.#core.createNamespacedSecret({ namespace, body, fieldManager: "acr-p2p" }),
    );
  }

  async serverVersion(): Promise<ServerVersion> {
    const v = await this.#call("get server version", () => this.#version.getCode());
    return parseServerVersion(v.major, v.minor, v.gitVersion);
  }

  /** Like #call, but a 404 is `undefined`. */
  async #read<T>(what: string, run: () => Promise<T>): Promise<T | undefined> {
    try {
      return await this.#call(what, run);
    } catch (err) {
      if (err instanceof KubeApiError && err.code === "NOT_FOUND") return undefined;
      throw err;
    }
  }

  async #call<T>(what: string, run: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new KubeApiError("TIMEOUT", `${what}: no answer within ${this.#timeoutMs} ms`)),
        this.#timeoutMs,
      );
    });
    try {
      return await Promise.race([run(), timeout]);
    } catch (err) {
      if (err instanceof KubeApiError) throw err;
      if (err instanceof ApiException) {
        throw new KubeApiError(
          codeForStatus(err.code),
          `${what}: HTTP ${err.code}: ${statusMessage(err.body)}`,
          {
            status: err.code,
            cause: err,
          },
        );
      }
      throw new KubeApiError("UNAVAILABLE", `${what}: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    } finally {
      clearTimeout(timer);
    }
  }
}

function codeForStatus(status: number): KubeApiError["code"] {
  if (status === 404) return "NOT_FOUND";
  if (status === 409) return "ALREADY_EXISTS";
  if (status === 401 || status === 403) return "FORBIDDEN";
  if (status === 422 || status === 400) return "INVALID";
  if (status === 429 || status >= 500) return "UNAVAILABLE";
  return "API_ERROR";
}

function statusMessage(body: unknown): string {
  if (typeof body === "string") {
    try {
      const parsed = JSON.parse(body) as { message?: unknown };
      if (typeof parsed.message === "string") return parsed.message;
    } catch {
      // not a Status object: fall through to the raw text
    }
    return body.slice(0, 300);
  }
  if (body && typeof body === "object" && typeof (body as { message?: unknown }).message === "string") {
    return (body as { message: string }).message;
  }
  return "no message";
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
