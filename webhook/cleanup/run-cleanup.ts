/**
 * `acr-p2p cleanup`, run by the chart's pre-delete hook: removes what the controller and certgen made
 * at run time, which Helm does not know about, so that `helm uninstall` leaves nothing behind:
 *
 * 1. the MutatingWebhookConfiguration, first, so that no pod admitted from then on makes a new derived
 *    pull secret (Helm deletes it next anyway and ignores that it is gone);
 * 2. in every namespace, each Secret labelled app.kubernetes.io/managed-by=acr-p2p: derived pull secrets
 *    (registry credentials), the ACR temporary credentials and certgen's serving Secret (CA key and the
 *    peer ticket key).
 *
 * A namespace that fails does not stop the others; the run then fails as a whole (the Job retries, and
 * `helm uninstall` reports it) after naming every namespace that failed.
 */
import type { Logger } from "../../lib/logger.ts";
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from "../mutation/names.ts";
import type { CleanupApi } from "./cleanup-api.ts";
import type { CleanupConfig } from "./cleanup-config.ts";
import { CodedError } from "../../lib/coded-error.ts";

export const MANAGED_SECRETS_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;

export interface CleanupOutcome {
  readonly webhookConfigDeleted: boolean;
  /** The namespaces swept. */
  readonly namespaces: readonly string[];
}

export class CleanupError extends CodedError<"CLEANUP_FAILED"> {
  readonly failures: readonly { namespace: string; error: unknown }[];

  constructor(message: string, failures: readonly { namespace: string; error: unknown }[]) {
    super("CLEANUP_FAILED", message);
    this.name = "CleanupError";
    this.failures = failures;
  }
}

export async function runCleanup(
  api: CleanupApi,
  config: CleanupConfig,
  logger: Logger,
): Promise<CleanupOutcome> {
  const webhookConfigDeleted = await api.deleteWebhookConfig(config.webhookConfigName);
  logger.info(
    { webhookConfig: config.webhookConfigName, deleted: webhookConfigDeleted },
    webhookConfigDeleted ? "webhook configuration deleted" : "webhook configuration already gone",
  );
  const namespaces = await api.listNamespaces();
  const failures: { namespace: string; error: unknown }[] = [];
  for (const namespace of namespaces) {
    try {
      await api.deleteSecrets(namespace, MANAGED_SECRETS_SELECTOR);
      logger.debug({ namespace }, "managed secrets deleted");
    } catch (error) {
      failures.push({ namespace, error });
      logger.error(
        { namespace, err: error instanceof Error ? error.message : String(error) },
        "could not delete the managed secrets of a namespace",
      );
    }
  }
  if (failures.length > 0) {
    throw new CleanupError(
      `could not delete the secrets labelled ${MANAGED_SECRETS_SELECTOR} in ${failures
        .map((f) => f.namespace)
        .join(", ")}`,
      failures,
    );
  }
  logger.info(
    { namespaces: namespaces.length, selector: MANAGED_SECRETS_SELECTOR },
    "secrets made by acr-p2p deleted in every namespace",
  );
  return { webhookConfigDeleted, namespaces };
}
