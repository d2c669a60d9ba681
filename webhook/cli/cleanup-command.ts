/**
 * `acr-p2p cleanup`: run by the chart's pre-delete hook Job. Exit 0 when the webhook configuration and
 * every Secret acr-p2p made are gone, 1 on an API error (the Job retries), 2 on a bad option.
 */
import { createLogger } from "../../lib/logger.ts";
import { ConfigError } from "../../lib/config/config-error.ts";
import { ClientNodeCleanupApi } from "../cleanup/client-node-cleanup-api.ts";
import { CLEANUP_OPTIONS, parseCleanupArgs } from "../cleanup/cleanup-config.ts";
import { CleanupError, MANAGED_SECRETS_SELECTOR, runCleanup } from "../cleanup/run-cleanup.ts";
import { renderOptionsHelp } from "../../lib/config/options-help.ts";
import { KubeApiError } from "../kube/kube-api.ts";

const HEADER = [
  "usage: acr-p2p cleanup [options]",
  "",
  "Deletes what acr-p2p made at run time, before `helm uninstall` deletes the release: the",
  `MutatingWebhookConfiguration, then the Secrets labelled ${MANAGED_SECRETS_SELECTOR} in every namespace`,
  "(derived pull secrets, ACR temporary credentials, the webhook's certificate).",
  "Every option can be given as a flag or as its environment variable.",
];

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseCleanupArgs(argv, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`acr-p2p cleanup: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (parsed.help || !parsed.config) {
    process.stdout.write(renderOptionsHelp(HEADER, CLEANUP_OPTIONS));
    return 0;
  }
  const logger = createLogger("acr-p2p-cleanup");
  try {
    await runCleanup(new ClientNodeCleanupApi(parsed.config.kubeconfig), parsed.config, logger);
    return 0;
  } catch (err) {
    if (err instanceof CleanupError) {
      logger.error(err.message);
      return 1;
    }
    if (!(err instanceof KubeApiError)) throw err;
    logger.error({ code: err.code, err: err.message }, "cleanup failed");
    return 1;
  }
}
