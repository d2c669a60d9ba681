/**
 * What certgen reads and writes in the cluster, behind a small interface (RBAC: create secrets, get
 * and update its own Secret, get and patch its own MutatingWebhookConfiguration), with an in-memory
 * implementation beside it for unit tests.
 */
import { KubeApiError } from "../kube/kube-api.ts";

/** The serving Secret's three keys, PEM text (not base64). */
export interface ServingSecretData {
  readonly "tls.crt": string;
  readonly "tls.key": string;
  readonly "ca.crt": string;
  /**
   * The Ed25519 key (PKCS#8 PEM) that signs peer tickets: one for all controller replicas, so a ticket
   * any of them issued verifies everywhere. Kept across certificate renewals.
   */
  readonly "ticket.key": string;
}

export interface StoredSecret {
  readonly data: Partial<ServingSecretData>;
  /** For optimistic concurrency on update. */
  readonly resourceVersion: string | undefined;
}

export interface CertgenApi {
  getSecret(namespace: string, name: string): Promise<StoredSecret | undefined>;
  createSecret(namespace: string, name: string, data: ServingSecretData): Promise<void>;
  /** Replaces the data; a KubeApiError CONFLICT when `resourceVersion` is stale. */
  updateSecret(
    namespace: string,
    name: string,
    data: ServingSecretData,
    resourceVersion: string | undefined,
  ): Promise<void>;
  /** The caBundle (PEM, "" when unset) of each webhook entry, in order; NOT_FOUND when the config is missing. */
  getCaBundles(
    configName: string,
  ): Promise<{ readonly names: readonly string[]; readonly bundles: readonly string[] }>;
  /** Sets every entry's caBundle to `pem`; `names` guards against entries added or reordered meanwhile. */
  setCaBundles(configName: string, names: readonly string[], pem: string): Promise<void>;
}

export class MemoryCertgenApi implements CertgenApi {
  readonly secrets = new Map<string, { data: ServingSecretData; resourceVersion: number }>();
  readonly webhookConfigs = new Map<string, { name: string; caBundle: string }[]>();
  readonly writes: string[] = [];

  async getSecret(namespace: string, name: string): Promise<StoredSecret | undefined> {
    const s = this.secrets.get(`${namespace}/${name}`);
    return s && { data: { ...s.data }, resourceVersion: String(s.resourceVersion) };
  }

  async createSecret(namespace: string, name: string, data: ServingSecretData): Promise<void> {
    const key = `${namespace}/${name}`;
    if (this.secrets.has(key))
      throw new KubeApiError("ALREADY_EXISTS", `secrets "${name}" already exists`, { status: 409 });
    this.secrets.set(key, { data, resourceVersion: 1 });
    this.writes.push(`create secret ${key}`);
  }

  async updateSecret(
    namespace: string,
    name: string,
    data: ServingSecretData,
    resourceVersion: string | undefined,
  ): Promise<void> {
    const key = `${namespace}/${name}`;
    const s = this.secrets.get(key);
    if (!s) throw new KubeApiError("NOT_FOUND", `secrets "${name}" not found`, { status: 404 });
    if (resourceVersion !== undefined && resourceVersion !== String(s.resourceVersion)) {
      throw new KubeApiError("CONFLICT", `secrets "${name}": the object has been modified`, { status: 409 });
    }
    this.secrets.set(key, { data, resourceVersion: s.resourceVersion + 1 });
    this.writes.push(`update secret ${key}`);
  }

  async getCaBundles(configName: string) {
    const c = this.webhookConfigs.get(configName);
    if (!c)
      throw new KubeApiError("NOT_FOUND", `mutatingwebhookconfigurations "${configName}" not found`, {
        status: 404,
      });
    return { names: c.map((w) => w.name), bundles: c.map((w) => w.caBundle) };
  }

  async setCaBundles(configName: string, names: readonly string[], pem: string): Promise<void> {
    const c = this.webhookConfigs.get(configName);
    if (!c || c.map((w) => w.name).join() !== names.join()) {
      throw new KubeApiError("CONFLICT", `mutatingwebhookconfigurations "${configName}" changed`, {
        status: 422,
      });
    }
    for (const w of c) w.caBundle = pem;
    this.writes.push(`patch caBundle ${configName}`);
  }
}
