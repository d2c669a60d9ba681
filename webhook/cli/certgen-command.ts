/**
 * `acr-p2p certgen`: run by the chart's install/upgrade hook Job and its rotation CronJob. Exit 0 when
 * the Secret and caBundle are good (whether or not anything was written), 1 on an API error (the Job
 * retries), 2 on a bad option.
 */
import { createLogger } from "../../lib/logger.ts";
import { ConfigError } from "../../lib/config/config-error.ts";
import { ClientNodeCertgenApi } from "../certgen/client-node-certgen-api.ts";
import { CERTGEN_OPTIONS, parseCertgenArgs } from "../certgen/certgen-config.ts";
import { runCertgen } from "../certgen/run-certgen.ts";
import { renderOptionsHelp } from "../../lib/config/options-help.ts";
import { KubeApiError } from "../kube/kube-api.ts";

const HEADER = [
  "usage: acr-p2p certgen [options]",
  "",
  "Creates or renews the webhook's CA and serving certificate Secret and sets caBundle on every entry",
  "of the MutatingWebhookConfiguration. Every option can be given as a flag or as its environment variable.",
];

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseCertgenArgs(argv, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`acr-p2p certgen: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (parsed.help || !parsed.config) {
    process.stdout.write(renderOptionsHelp(HEADER, CERTGEN_OPTIONS));
    return 0;
  }
  const logger = createLogger("acr-p2p-certgen");
  try {
    await runCertgen(new ClientNodeCertgenApi(parsed.config.kubeconfig), parsed.config, logger);
    return 0;
  } catch (err) {
    if (!(err instanceof KubeApiError)) throw err;
    logger.error({ code: err.code, err: err.message }, "certgen failed");
    return 1;
  }
}
