/**
 * The webhook's serving certificate on the test API server, written the way certgen writes it (a
 * kubernetes.io/tls Secret with ca.crt) and the caBundle of the chart's webhook configuration.
 *
 *   writeServingSecret(kc, ns, name, ca)   create or replace the Secret
 *   patchCaBundle(kc, caPem)               caBundle of every webhook entry
 *   readCaBundles(kc) -> string[]          the caBundle of each entry, decoded (PEM), "" when unset
 */
import { generateTicketKey, ticketKeyToPem } from "../../contract/peer-ticket.ts";
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1Secret,
} from "@kubernetes/client-node";
import type { TestCa } from "./cloud/test-ca.ts";
import { WEBHOOK_CONFIG_NAME } from "./cluster-chart.ts";

const b64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");

export async function writeServingSecret(
  kc: KubeConfig,
  namespace: string,
  name: string,
  ca: TestCa,
): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const body: V1Secret = {
    metadata: { name, namespace },
    type: "kubernetes.io/tls",
    data: {
      "tls.crt": b64(ca.certPem),
      "tls.key": b64(ca.keyPem),
      "ca.crt": b64(ca.caPem),
      // As certgen keeps it: the peer ticket key the controller replicas share.
      "ticket.key": b64(ticketKeyToPem(generateTicketKey())),
    },
  };
  try {
    await core.createNamespacedSecret({ namespace, body });
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
    await core.replaceNamespacedSecret({ name, namespace, body });
  }
}

export async function readCaBundles(kc: KubeConfig): Promise<string[]> {
  const api = kc.makeApiClient(AdmissionregistrationV1Api);
  const config = await api.readMutatingWebhookConfiguration({ name: WEBHOOK_CONFIG_NAME });
  return (config.webhooks ?? []).map((w) =>
    Buffer.from(w.clientConfig.caBundle ?? "", "base64").toString("utf8"),
  );
}

export async function patchCaBundle(kc: KubeConfig, caPem: string): Promise<void> {
  const api = kc.makeApiClient(AdmissionregistrationV1Api);
  const config = await api.readMutatingWebhookConfiguration({ name: WEBHOOK_CONFIG_NAME });
  const patch = (config.webhooks ?? []).map((_, i) => ({
    op: "add",
    path: `/webhooks/${i}/clientConfig/caBundle`,
    value: b64(caPem),
  }));
  await api.patchMutatingWebhookConfiguration({ name: WEBHOOK_CONFIG_NAME, body: patch });
}
