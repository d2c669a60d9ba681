/**
 * KubeApi over plain maps: for unit tests, benchmarks and `acr-p2p inject` (which seeds it with the
 * Namespaces and Secrets found in its input file). `failNext` makes the next call of an operation fail,
 * so tests reach the error paths without a mocking library.
 */
import {
  KubeApiError,
  type EventObject,
  type KubeApi,
  type LimitRangeObject,
  type NamespaceObject,
  type PodSummary,
  type SecretObject,
  type ServerVersion,
} from "./kube-api.ts";

type Operation =
  | "getNamespace"
  | "getSecret"
  | "createSecret"
  | "createEvent"
  | "replaceSecret"
  | "listLimitRanges"
  | "listPods"
  | "serverVersion";

export class MemoryKubeApi implements KubeApi {
  readonly namespaces = new Map<string, NamespaceObject>();
  /** Key: `namespace/name`. */
  readonly secrets = new Map<string, SecretObject>();
  /** Key: `namespace/name`. */
  readonly events = new Map<string, EventObject>();
  /** Key: namespace. */
  readonly limitRanges = new Map<string, LimitRangeObject[]>();
  /** Pods with their labels, for listPods. */
  readonly pods: (PodSummary & { readonly labels: Readonly<Record<string, string>> })[] = [];
  version: ServerVersion;
  /** Number of calls per operation (tests check what was read and written). */
  readonly calls: Record<Operation, number> = {
    getNamespace: 0,
    getSecret: 0,
    createSecret: 0,
    createEvent: 0,
    replaceSecret: 0,
    listLimitRanges: 0,
    listPods: 0,
    serverVersion: 0,
  };
  readonly #faults = new Map<Operation, KubeApiError>();

  constructor(version: ServerVersion = { major: 1, minor: 34, gitVersion: "v1.34.0" }) {
    this.version = version;
  }

  addNamespace(name: string, labels: Record<string, string> = {}): this {
    this.namespaces.set(name, { metadata: { name, labels } });
    return this;
  }

  /** A LimitRange as a manifest holds it (`spec.limits`); quantities may be plain numbers there. */
  addLimitRange(namespace: string, manifest: Record<string, unknown>): this {
    const meta = (manifest["metadata"] ?? {}) as { name?: string };
    const spec = (manifest["spec"] ?? {}) as { limits?: Record<string, unknown>[] };
    const strings = (m: unknown) =>
      m && typeof m === "object"
        ? Object.fromEntries(Object.entries(m).map(([k, v]) => [k, String(v)]))
        : undefined;
    const limits = (spec.limits ?? []).map((l) => ({
      type: String(l["type"] ?? ""),
      ...(l["max"] !== undefined && { max: strings(l["max"]) ?? {} }),
      ...(l["min"] !== undefined && { min: strings(l["min"]) ?? {} }),
      ...(l["maxLimitRequestRatio"] !== undefined && {
        maxLimitRequestRatio: strings(l["maxLimitRequestRatio"]) ?? {},
      }),
    }));
    const list = this.limitRanges.get(namespace) ?? [];
    list.push({ name: meta.name ?? "", limits });
    this.limitRanges.set(namespace, list);
    return this;
  }

  addSecret(namespace: string, secret: SecretObject): this {
    this.secrets.set(`${namespace}/${secret.metadata.name}`, {
      ...secret,
      metadata: { ...secret.metadata, namespace },
    });
    return this;
  }

  failNext(operation: Operation, error: KubeApiError): void {
    this.#faults.set(operation, error);
  }

  async getNamespace(name: string): Promise<NamespaceObject | undefined> {
    this.#enter("getNamespace");
    return this.namespaces.get(name);
  }

  async getSecret(namespace: string, name: string): Promise<SecretObject | undefined> {
    this.#enter("getSecret");
    return this.secrets.get(`${namespace}/${name}`);
  }

  async createEvent(namespace: string, event: EventObject): Promise<void> {
    this.#enter("createEvent");
    this.events.set(refuseTaken(this.events, "events", namespace, event.metadata.name), event);
  }

  async createSecret(namespace: string, secret: SecretObject): Promise<void> {
    this.#enter("createSecret");
    refuseTaken(this.secrets, "secrets", namespace, secret.metadata.name);
    this.addSecret(namespace, structuredClone(secret));
  }

  async replaceSecret(namespace: string, secret: SecretObject): Promise<void> {
    this.#enter("replaceSecret");
    if (!this.secrets.has(`${namespace}/${secret.metadata.name}`)) {
      throw new KubeApiError("NOT_FOUND", `secrets "${secret.metadata.name}" not found`, { status: 404 });
    }
    this.addSecret(namespace, structuredClone(secret));
  }

  async listLimitRanges(namespace: string): Promise<LimitRangeObject[]> {
    this.#enter("listLimitRanges");
    return [...(this.limitRanges.get(namespace) ?? [])];
  }

  /** Equality selectors only (`k=v,k2=v2`): what the controller uses. */
  async listPods(labelSelector: string): Promise<PodSummary[]> {
    this.#enter("listPods");
    const wanted = labelSelector
      .split(",")
      .filter((t) => t !== "")
      .map((t) => t.split("=") as [string, string]);
    return this.pods
      .filter((p) => wanted.every(([k, v]) => p.labels[k] === v))
      .map(({ namespace, name, imagePullSecrets }) => ({ namespace, name, imagePullSecrets }));
  }

  async serverVersion(): Promise<ServerVersion> {
    this.#enter("serverVersion");
    return this.version;
  }

  #enter(operation: Operation): void {
    this.calls[operation]++;
    const fault = this.#faults.get(operation);
    if (fault) {
      this.#faults.delete(operation);
      throw fault;
    }
  }
}

/** As the API server's create answers a name already taken: 409. Returns the map key `namespace/name`. */
function refuseTaken(map: Map<string, unknown>, resource: string, namespace: string, name: string): string {
  const key = `${namespace}/${name}`;
  if (map.has(key)) {
    throw new KubeApiError("ALREADY_EXISTS", `${resource} "${name}" already exists`, { status: 409 });
  }
  return key;
}
