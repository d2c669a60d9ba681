/**
 * `acr-p2p certgen`'s options (the chart's certgen Job sets them as env) and its frozen config.
 * Names shared with the webhook (namespace, service name, SANs, kubeconfig) use the same env variables.
 */
import type { OptionSpec } from "../../lib/config/option-spec.ts";
import { serviceHostNames } from "../../lib/tls-certs.ts";
import { ConfigError } from "../../lib/config/config-error.ts";
import { parseInt } from "../../lib/config/option-values.ts";
import { parseArgs, type ParsedArgs, type RawOptions } from "../../lib/config/raw-options.ts";
import { WEBHOOK_OPTIONS } from "../config/webhook-options.ts";

const shared = (key: string, override: Partial<OptionSpec> = {}): OptionSpec => {
  const spec = WEBHOOK_OPTIONS.find((o) => o.key === key);
  if (!spec) throw new Error(`no webhook option ${key}`);
  return Object.freeze({ ...spec, ...override });
};

export const CERTGEN_OPTIONS: readonly OptionSpec[] = Object.freeze([
  shared("namespace", { help: "Namespace of the Secret and of the webhook's Service." }),
  Object.freeze({
    key: "secretName",
    env: "ACR_P2P_TLS_SECRET",
    flag: "--secret-name",
    kind: "string",
    default: "ack-acr-acceleration-p2p-tls",
    help: "The kubernetes.io/tls Secret (tls.crt, tls.key, ca.crt) the controller mounts.",
  } satisfies OptionSpec),
  shared("serviceName"),
  shared("tlsSans", {
    default: undefined,
    help: "Extra DNS names / IPs of the certificate (e.g. 127.0.0.1 when the webhook is called by URL).",
  }),
  Object.freeze({
    key: "webhookConfigName",
    env: "ACR_P2P_WEBHOOK_CONFIG_NAME",
    flag: "--webhook-config",
    kind: "string",
    default: "ack-acr-acceleration-p2p",
    help: "The MutatingWebhookConfiguration whose entries get the CA as caBundle.",
  } satisfies OptionSpec),
  Object.freeze({
    key: "validityDays",
    env: "ACR_P2P_CERT_VALIDITY_DAYS",
    flag: "--validity-days",
    kind: "int",
    default: "365",
    min: 1,
    max: 3650,
    help: "Validity of an issued serving certificate, in days.",
  } satisfies OptionSpec),
  Object.freeze({
    key: "renewBeforeDays",
    env: "ACR_P2P_CERT_RENEW_BEFORE_DAYS",
    flag: "--renew-before-days",
    kind: "int",
    default: "30",
    min: 0,
    max: 3650,
    help: "Re-issue when the certificate expires within this many days.",
  } satisfies OptionSpec),
  shared("kubeconfig"),
]);

export interface CertgenConfig {
  readonly namespace: string;
  readonly secretName: string;
  readonly webhookConfigName: string;
  /** Every name the certificate must carry: the Service's names, then the extra SANs. */
  readonly hosts: readonly string[];
  readonly validityDays: number;
  readonly renewBeforeDays: number;
  readonly kubeconfig: string | undefined;
}

export function parseCertgenArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ParsedArgs<CertgenConfig> {
  return parseArgs(CERTGEN_OPTIONS, argv, env, buildCertgenConfig);
}

function buildCertgenConfig(raw: RawOptions): CertgenConfig {
  const spec = (key: string) => CERTGEN_OPTIONS.find((o) => o.key === key) as OptionSpec;
  const text = (key: string): string | undefined => {
    const v = raw.values.get(key);
    return typeof v === "string" ? v : undefined;
  };
  const required = (key: string): string => {
    const v = text(key);
    if (v === undefined) throw ConfigError.forSpec(spec(key), "required");
    return v;
  };
  const validityDays = parseInt(spec("validityDays"), required("validityDays"));
  const renewBeforeDays = parseInt(spec("renewBeforeDays"), required("renewBeforeDays"));
  if (renewBeforeDays >= validityDays) {
    throw ConfigError.forSpec(
      spec("renewBeforeDays"),
      `${renewBeforeDays} must be less than the validity (${validityDays} days)`,
    );
  }
  const namespace = required("namespace");
  const service = required("serviceName");
  const sans = raw.values.get("tlsSans");
  const extra = Array.isArray(sans) ? sans : [];
  return Object.freeze({
    namespace,
    secretName: required("secretName"),
    webhookConfigName: required("webhookConfigName"),
    hosts: Object.freeze([...new Set([...serviceHostNames(service, namespace), ...extra])]),
    validityDays,
    renewBeforeDays,
    kubeconfig: text("kubeconfig"),
  });
}
