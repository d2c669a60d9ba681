/**
 * Where derived pull secrets are written: a tiny interface (get, create, replace in one namespace),
 * implemented over the Kubernetes API by the controller and in memory for tests. Callers go through
 * `writeManagedSecret`, which never touches a secret that lacks the managed-by label.
 *
 * RBAC this needs: secrets get, create, update in the namespaces served (never list / watch).
 */
import { CodedError } from "../../lib/coded-error.ts";

export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY_VALUE = "acr-p2p";
export const DOCKER_CONFIG_JSON_TYPE = "kubernetes.io/dockerconfigjson";

export interface ManagedSecret {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly type: string;
  /** Secret data as plain strings (the Kubernetes implementation base64-encodes them). */
  readonly data: Readonly<Record<string, string>>;
}

export type PullSecretStoreErrorCode =
  | "SECRET_NOT_MANAGED"
  | "NAMESPACE_NOT_FOUND"
  /** create: a secret of that name exists (another controller replica wrote it a moment ago). */
  | "ALREADY_EXISTS"
  | "WRITE_FAILED";

export class PullSecretStoreError extends CodedError<PullSecretStoreErrorCode> {
  constructor(code: PullSecretStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "PullSecretStoreError";
  }
}

export interface PullSecretStore {
  get(namespace: string, name: string): Promise<ManagedSecret | undefined>;
  /** Throws PullSecretStoreError NAMESPACE_NOT_FOUND when the namespace is gone, ALREADY_EXISTS when taken. */
  create(namespace: string, secret: ManagedSecret): Promise<void>;
  replace(namespace: string, secret: ManagedSecret): Promise<void>;
}

/**
 * Creates or replaces `secret`, refusing to overwrite a secret of that name we do not manage. Two
 * controller replicas may create it at once: the one that loses re-reads it and replaces it.
 */
export async function writeManagedSecret(
  store: PullSecretStore,
  namespace: string,
  secret: ManagedSecret,
): Promise<void> {
  let existing = await store.get(namespace, secret.name);
  if (existing === undefined) {
    try {
      return await store.create(namespace, secret);
    } catch (err) {
      if (!(err instanceof PullSecretStoreError && err.code === "ALREADY_EXISTS")) throw err;
    }
    existing = await store.get(namespace, secret.name);
    if (existing === undefined) {
      throw new PullSecretStoreError(
        "WRITE_FAILED",
        `secret ${namespace}/${secret.name} vanished while created`,
      );
    }
  }
  if (existing.labels[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE) {
    throw new PullSecretStoreError(
      "SECRET_NOT_MANAGED",
      `secret ${namespace}/${secret.name} exists without ${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}; not touching it`,
    );
  }
  return store.replace(namespace, secret);
}

export class InMemoryPullSecretStore implements PullSecretStore {
  readonly namespaces = new Set<string>();
  readonly secrets = new Map<string, ManagedSecret>();
  writes = 0;

  async get(namespace: string, name: string): Promise<ManagedSecret | undefined> {
    return this.secrets.get(`${namespace}/${name}`);
  }

  async create(namespace: string, secret: ManagedSecret): Promise<void> {
    if (!this.namespaces.has(namespace)) {
      throw new PullSecretStoreError("NAMESPACE_NOT_FOUND", `namespace ${namespace} not found`);
    }
    if (this.secrets.has(`${namespace}/${secret.name}`)) {
      throw new PullSecretStoreError("ALREADY_EXISTS", `secret ${namespace}/${secret.name} already exists`);
    }
    this.secrets.set(`${namespace}/${secret.name}`, secret);
    this.writes++;
  }

  async replace(namespace: string, secret: ManagedSecret): Promise<void> {
    if (!this.secrets.has(`${namespace}/${secret.name}`)) {
      throw new PullSecretStoreError("WRITE_FAILED", `secret ${namespace}/${secret.name} not found`);
    }
    this.secrets.set(`${namespace}/${secret.name}`, secret);
    this.writes++;
  }
}
