/**
 * CertgenApi over @kubernetes/client-node 2.x. caBundle is written with a JSON patch that first tests
 * each entry's name, so a configuration changed in between makes the patch fail instead of writing the
 * CA into the wrong entry.
 */
import { loadKubeConfig } from "../kube/load-kubeconfig.ts";
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1Secret,
} from "@kubernetes/client-node";
import { callKube, readKube } from "../kube/api-call.ts";
import type { CertgenApi, ServingSecretData, StoredSecret } from "./certgen-api.ts";

const TIMEOUT_MS = 10_000;

export class ClientNodeCertgenApi implements CertgenApi {
  readonly #core: CoreV1Api;
  readonly #admission: AdmissionregistrationV1Api;

  constructor(kubeconfig: string | undefined) {
    const kc = loadKubeConfig(kubeconfig);
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#admission = kc.makeApiClient(AdmissionregistrationV1Api);
  }

  async getSecret(namespace: string, name: string): Promise<StoredSecret | undefined> {
    const s = await readKube(`get secret ${namespace}/${name}`, TIMEOUT_MS, () =>
      this.#core.readNamespacedSecret({ name, namespace }),
    );
    if (!s) return undefined;
    const text = (k: keyof ServingSecretData) => {
      const v = s.data?.[k];
      return v === undefined ? {} : { [k]: Buffer.from(v, "base64").toString("utf8") };
    };
    return {
      data: { ...text("tls.crt"), ...text("tls.key"), ...text("ca.crt"), ...text("ticket.key") },
      resourceVersion: s.metadata?.resourceVersion,
    };
  }

  async createSecret(namespace: string, name: string, data: ServingSecretData): Promise<void> {
    await callKube(`create secret ${namespace}/${name}`, TIMEOUT_MS, () =>
      this.#core.createNamespacedSecret({
        namespace,
        body: secretBody(namespace, name, data, undefined),
        fieldManager: "acr-p2p-certgen",
      }),
    );
  }

  async updateSecret(
    namespace: string,
    name: string,
    data: ServingSecretData,
    resourceVersion: string | undefined,
  ): Promise<void> {
    await callKube(`update secret ${namespace}/${name}`, TIMEOUT_MS, () =>
      this.#core.replaceNamespacedSecret({
        name,
        namespace,
        body: secretBody(namespace, name, data, resourceVersion),
        fieldManager: "acr-p2p-certgen",
      }),
    );
  }

  async getCaBundles(configName: string) {
    const c = await callKube(`get mutatingwebhookconfiguration ${configName}`, TIMEOUT_MS, () =>
      this.#admission.readMutatingWebhookConfiguration({ name: configName }),
    );
    const webhooks = c.webhooks ?? [];
    return {
      names: webhooks.map((w) => w.name),
      bundles: webhooks.map((w) =>
        w.clientConfig.caBundle ? Buffer.from(w.clientConfig.caBundle, "base64").toString("utf8") : "",
      ),
    };
  }

  async setCaBundles(configName: string, names: readonly string[], pem: string): Promise<void> {
    const value = Buffer.from(pem, "utf8").toString("base64");
    const ops = names.flatMap((name, i) => [
      { op: "test", path: `/webhooks/${i}/name`, value: name },
      { op: "add", path: `/webhooks/${i}/clientConfig/caBundle`, value },
    ]);
    await callKube(`patch mutatingwebhookconfiguration ${configName}`, TIMEOUT_MS, () =>
      this.#admission.patchMutatingWebhookConfiguration(
        { name: configName, body: ops, fieldManager: "acr-p2p-certgen" },
        setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
      ),
    );
  }
}

function secretBody(
  namespace: string,
  name: string,
  data: ServingSecretData,
  resourceVersion: string | undefined,
): V1Secret {
  const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name,
      namespace,
      labels: { "app.kubernetes.io/managed-by": "acr-p2p" },
      ...(resourceVersion !== undefined && { resourceVersion }),
    },
    type: "kubernetes.io/tls",
    data: {
      "tls.crt": b64(data["tls.crt"]),
      "tls.key": b64(data["tls.key"]),
      "ca.crt": b64(data["ca.crt"]),
      "ticket.key": b64(data["ticket.key"]),
    },
  };
}
