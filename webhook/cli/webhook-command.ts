/**
 * `acr-p2p webhook`: runs the controller until SIGTERM / SIGINT. The only place (with the other entry
 * points) that reads process.env and argv: the webhook's options (flags or env) and the cloud options
 * (env only, set by the chart: webhook/cloud/cloud-options.ts).
 *
 * Exit codes: 0 after a signal, 2 for a bad option or a cloud setting the user must fix (an unknown
 * ACR instance, a missing RRSA token file, region / VPC not found), 1 for anything else.
 */
import { createLogger } from "../../lib/logger.ts";
import { ConfigError } from "../../lib/config/config-error.ts";
import { parseCloudConfig, type CloudConfig } from "../cloud/cloud-config.ts";
import { CloudConfigError } from "../cloud/cloud-errors.ts";
import { CLOUD_OPTIONS } from "../cloud/cloud-options.ts";
import { renderOptionsHelp } from "../../lib/config/options-help.ts";
import { ALL_WEBHOOK_OPTIONS, parseWebhookArgs, type WebhookConfig } from "../config/webhook-config.ts";
import { isCloudSetupError, startControllerCloud, type ControllerCloud } from "../server/controller-cloud.ts";
import { kubeApiFor, kubeConfigFor, startController } from "../server/controller.ts";
import { WebhookMetrics } from "../metrics/webhook-metrics.ts";

const HEADER = [
  "usage: acr-p2p webhook [options]",
  "",
  "Runs the mutating admission webhook over HTTPS (/mutate, /healthz, /readyz, /metrics) and the peer",
  "directory (GET /v1/peers on --directory-port). Every option can be given as a flag or as its",
  "environment variable (flags win). Options named",
  "'Sidecar: ...' are copied into every injected sidecar's env, under the same variable.",
];

function cloudHelp(): string {
  const lines = ["cloud options (environment only; docs/cloud-credentials.md):"];
  for (const o of CLOUD_OPTIONS) {
    const seed = o.seedName ? `; seed parameter ${o.seedName}` : "";
    lines.push(`  env ${o.env}${seed}; default: ${o.default ?? "(not set)"}`, `      ${o.help}`);
  }
  return `${lines.join("\n")}\n`;
}

export async function main(argv: string[]): Promise<number> {
  let config: WebhookConfig;
  let cloudConfig: CloudConfig;
  try {
    const parsed = parseWebhookArgs(argv, process.env);
    if (parsed.help || !parsed.config) {
      process.stdout.write(renderOptionsHelp(HEADER, ALL_WEBHOOK_OPTIONS) + cloudHelp());
      return 0;
    }
    config = parsed.config;
    cloudConfig = parseCloudConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof CloudConfigError) {
      process.stderr.write(`acr-p2p webhook: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const logger = createLogger("acr-p2p-webhook", config.logLevel);
  // Listening from the start: a signal during the cloud start-up still ends in a clean shutdown.
  const signal = new Promise<string>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });

  const metrics = new WebhookMetrics({ defaultMetrics: true });
  const kube = kubeApiFor(config);
  let cloud: ControllerCloud;
  try {
    cloud = await startControllerCloud(config, cloudConfig, { logger, metrics, kube });
  } catch (err) {
    if (!isCloudSetupError(err)) throw err;
    logger.error({ code: err.code }, err.message);
    process.stderr.write(`acr-p2p webhook: ${err.message}\n`);
    return 2;
  }
  const controller = await startController(config, {
    logger,
    kube,
    metrics,
    kubeConfig: kubeConfigFor(config),
    resolver: cloud.resolver,
    ...(cloud.tempPullSecrets && { tempPullSecrets: cloud.tempPullSecrets }),
  });
  logger.info({ signal: await signal }, "shutting down");
  cloud.stop();
  await controller.close();
  logger.info("stopped");
  return 0;
}
