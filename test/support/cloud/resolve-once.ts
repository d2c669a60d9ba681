/**
 * The controller's cloud start-up run as its own process, the way the controller's entry point runs
 * it: config from this process's environment (NODE_EXTRA_CA_CERTS trusting the emulators' CA), the
 * credential chain, the first resolution. Prints `RESULT <json>` and exits 0, or prints
 * `RESULT {"error": {code, parameter?, message}}` and exits 1 (log lines may come before or after:
 * `parseResolveOnceOutput` finds the result).
 *
 *   node test/support/cloud/resolve-once.ts
 */
import { fileURLToPath } from "node:url";
import { Registry } from "prom-client";
import { createLogger } from "../../../lib/logger.ts";
import { parseCloudConfig } from "../../../webhook/cloud/cloud-config.ts";
import { CloudConfigError, CloudError } from "../../../webhook/cloud/cloud-errors.ts";
import { startCloudServices } from "../../../webhook/server/cloud-services.ts";

export interface ResolveOnceResult {
  readonly providerName?: string;
  readonly placement?: { region: string; vpcId: string };
  readonly hosts?: string[];
  readonly readiness?: { ready: boolean; detail: string };
  readonly error?: { code: string; parameter?: string; message: string };
}

const RESULT_PREFIX = "RESULT ";

export function parseResolveOnceOutput(stdout: string): ResolveOnceResult | undefined {
  const line = stdout.split("\n").find((l) => l.startsWith(RESULT_PREFIX));
  return line === undefined ? undefined : (JSON.parse(line.slice(RESULT_PREFIX.length)) as ResolveOnceResult);
}

async function main(): Promise<number> {
  try {
    const config = parseCloudConfig(process.env);
    const services = await startCloudServices(config, {
      log: createLogger("resolve-once", "warn"),
      metricsRegistry: new Registry(),
    });
    if (!services) throw new Error("no acrInstances configured");
    services.stop();
    const result: ResolveOnceResult = {
      providerName: services.providerName,
      placement: services.placement,
      hosts: [...services.resolver.acceleratedHosts()],
      readiness: services.resolver.readiness(),
    };
    process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
    return 0;
  } catch (err) {
    const error = {
      code: err instanceof CloudError ? err.code : "UNEXPECTED",
      ...(err instanceof CloudConfigError ? { parameter: err.parameter } : {}),
      message: err instanceof Error ? err.message : String(err),
    };
    process.stdout.write(`${RESULT_PREFIX}${JSON.stringify({ error })}\n`);
    return 1;
  }
}

// Run only as a script, so tests can import parseResolveOnceOutput.
if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await main();
