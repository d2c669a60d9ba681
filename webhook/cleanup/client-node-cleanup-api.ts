/**
 * CleanupApi over @kubernetes/client-node 2.x. Secrets go by deletecollection with a label selector, so
 * the hook's RBAC needs no get or list on Secrets.
 */
import { loadKubeConfig } from "../kube/load-kubeconfig.ts";
import { AdmissionregistrationV1Api, CoreV1Api } from "@kubernetes/client-node";
import { callKube, readKube } from "../kube/api-call.ts";
import type { CleanupApi } from "./cleanup-api.ts";

const TIMEOUT_MS = 30_000;

export class ClientNodeCleanupApi implements CleanupApi {
  readonly #core: CoreV1Api;
  readonly #admission: AdmissionregistrationV1Api;

  constructor(kubeconfig: string | undefined) {
    const kc = loadKubeConfig(kubeconfig);
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#admission = kc.makeApiClient(AdmissionregistrationV1Api);
  }

  async deleteWebhookConfig(name: string): Promise<boolean> {
    const deleted = await readKube(`delete mutatingwebhookconfiguration ${name}`, TIMEOUT_MS, () =>
      this.#admission.deleteMutatingWebhookConfiguration({ name }),
    );
    return deleted !== undefined;
  }

  async listNamespaces(): Promise<string[]> {
    const list = await callKube("list namespaces", TIMEOUT_MS, () => this.#core.listNamespace());
    return list.items.map((n) => n.metadata?.name).filter((n): n is string => n !== undefined);
  }

  async deleteSecrets(namespace: string, labelSelector: string): Promise<void> {
    await callKube(`delete secrets -l ${labelSelector} in ${namespace}`, TIMEOUT_MS, () =>
      this.#core.deleteCollectionNamespacedSecret({ namespace, labelSelector }),
    );
  }
}
