/**
 * `acr-p2p cleanup`'s options (the chart's pre-delete hook Job sets them as env) and its frozen config.
 * The webhook configuration's name and the kubeconfig use the same variables as certgen and the webhook.
 */
import type { OptionSpec } from "../../lib/config/option-spec.ts";
import { ConfigError } from "../../lib/config/config-error.ts";
import { parseArgs, type ParsedArgs, type RawOptions } from "../../lib/config/raw-options.ts";
import { CERTGEN_OPTIONS } from "../certgen/certgen-config.ts";

const shared = (key: string, help?: string): OptionSpec => {
  const spec = CERTGEN_OPTIONS.find((o) => o.key === key);
  if (!spec) throw new Error(`no certgen option ${key}`);
  return Object.freeze({ ...spec, ...(help !== undefined && { help }) });
};

export const CLEANUP_OPTIONS: readonly OptionSpec[] = Object.freeze([
  shared(
    "webhookConfigName",
    "The MutatingWebhookConfiguration to delete first, so that nothing new is made while secrets go.",
  ),
  shared("kubeconfig"),
]);

export interface CleanupConfig {
  readonly webhookConfigName: string;
  readonly kubeconfig: string | undefined;
}

export function parseCleanupArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ParsedArgs<CleanupConfig> {
  return parseArgs(CLEANUP_OPTIONS, argv, env, buildCleanupConfig);
}

function buildCleanupConfig(raw: RawOptions): CleanupConfig {
  const text = (key: string): string | undefined => {
    const v = raw.values.get(key);
    return typeof v === "string" ? v : undefined;
  };
  const webhookConfigName = text("webhookConfigName");
  if (!webhookConfigName) {
    throw ConfigError.forSpec(CLEANUP_OPTIONS[0] as OptionSpec, "required");
  }
  return Object.freeze({
    webhookConfigName,
    kubeconfig: text("kubeconfig"),
  });
}
