/**
 * `acr-p2p webhook`: runs the admission webhook until SIGTERM / SIGINT. The only place (with the other
 * entry points) that reads process.env and argv.
 */
import { createLogger } from "../../lib/logger.ts";
import { ConfigError } from "../../sidecar/config/config-error.ts";
import { renderOptionsHelp } from "../config/help.ts";
import { ALL_WEBHOOK_OPTIONS, parseWebhookArgs } from "../config/webhook-config.ts";
import { startController } from "../server/controller.ts";

const HEADER = [
  "usage: acr-p2p webhook [options]",
  "",
  "Runs the mutating admission webhook over HTTPS (/mutate, /healthz, /readyz, /metrics). Every",
  "option can be given as a flag or as its environment variable (flags win). Options named",
  "'Sidecar: ...' are copied into every injected sidecar's env, under the same variable.",
];

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseWebhookArgs(argv, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`acr-p2p webhook: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (parsed.help || !parsed.config) {
    process.stdout.write(renderOptionsHelp(HEADER, ALL_WEBHOOK_OPTIONS));
    return 0;
  }
  const config = parsed.config;
  const logger = createLogger("acr-p2p-webhook", config.logLevel);
  const controller = await startController(config, { logger, defaultMetrics: true });
  const signal = await new Promise<string>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  logger.info({ signal }, "shutting down");
  await controller.close();
  return 0;
}
