/**
 * PullSecretStore over the webhook's Kubernetes access. Derived pull secrets never change in place;
 * the temporary credentials must be rewritten in place, because running pods keep referring to the
 * same secret name when their containers restart, so this uses `replaceSecret` as well (RBAC: update
 * on secrets, which the chart can limit to the one name acr-p2p-acr-temp-credentials).
 */
import type { KubeApi, SecretObject } from "../kube/kube-api.ts";
import { KubeApiError } from "../kube/kube-api.ts";
import { PullSecretStoreError, type ManagedSecret, type PullSecretStore } from "./pull-secret-store.ts";

export interface SecretsApi extends Pick<KubeApi, "getSecret" | "createSecret"> {
  /** PUT the whole secret (metadata.name, labels, type, base64 data). */
  replaceSecret(namespace: string, secret: SecretObject): Promise<void>;
}

function toObject(secret: ManagedSecret): SecretObject {
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries(secret.data)) data[k] = Buffer.from(v, "utf8").toString("base64");
  return { metadata: { name: secret.name, labels: { ...secret.labels } }, type: secret.type, data };
}

function translate(namespace: string, err: unknown): never {
  if (err instanceof KubeApiError && err.code === "NOT_FOUND") {
    throw new PullSecretStoreError("NAMESPACE_NOT_FOUND", `namespace ${namespace} not found`, { cause: err });
  }
  if (err instanceof KubeApiError && err.code === "ALREADY_EXISTS") {
    throw new PullSecretStoreError("ALREADY_EXISTS", err.message, { cause: err });
  }
  throw new PullSecretStoreError("WRITE_FAILED", err instanceof Error ? err.message : String(err), {
    cause: err,
  });
}

export class KubePullSecretStore implements PullSecretStore {
  readonly #api: SecretsApi;

  constructor(api: SecretsApi) {
    this.#api = api;
  }

  async get(namespace: string, name: string): Promise<ManagedSecret | undefined> {
    const s = await this.#api.getSecret(namespace, name);
    if (s === undefined) return undefined;
    const data: Record<string, string> = {};
    for (const [k, v] of Object.entries(s.data ?? {})) data[k] = Buffer.from(v, "base64").toString("utf8");
    return { name, labels: { ...s.metadata.labels }, type: s.type ?? "Opaque", data };
  }

  async create(namespace: string, secret: ManagedSecret): Promise<void> {
    await this.#api
      .createSecret(namespace, toObject(secret))
      .catch((err: unknown) => translate(namespace, err));
  }

  async replace(namespace: string, secret: ManagedSecret): Promise<void> {
    await this.#api
      .replaceSecret(namespace, toObject(secret))
      .catch((err: unknown) => translate(namespace, err));
  }
}
