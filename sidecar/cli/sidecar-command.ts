/**
 * `acr-p2p sidecar`: the entry point, the only sidecar code that reads argv and the environment.
 * Parses the config (a bad value exits 2 with a message naming the option), starts the sidecar, and
 * stops it cleanly on SIGTERM/SIGINT (the kubelet's stop, or Ctrl-C).
 */
import { once } from "node:events";
import { createLogger } from "../../lib/logger.ts";
import { startSidecar } from "../app.ts";
import { ConfigError } from "../../lib/config/config-error.ts";
import { renderSidecarHelp } from "../config/help.ts";
import { parseSidecarArgs } from "../config/sidecar-config.ts";

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseSidecarArgs(argv, process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`acr-p2p sidecar: ${err.message}\n`);
    return 2;
  }
  if (parsed.help || !parsed.config) {
    process.stdout.write(renderSidecarHelp());
    return 0;
  }
  const config = parsed.config;
  const logger = createLogger("acr-p2p-sidecar", config.logLevel);
  const sidecar = await startSidecar(config, { logger });
  logger.info(
    {
      registry: sidecar.registryAddress,
      health: sidecar.healthAddress,
      upstreamHosts: config.upstreamHosts,
      cacheMode: config.cacheMode,
      memoryCacheBytes: config.memoryCacheBytes,
      blockSizeBytes: config.blockSizeBytes,
    },
    "sidecar ready",
  );
  const signal = await Promise.race([once(process, "SIGTERM"), once(process, "SIGINT")]);
  logger.info({ signal }, "stopping");
  await sidecar.close();
  return 0;
}
