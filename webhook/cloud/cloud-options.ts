/**
 * The controller's cloud options: one table, the single source of each option's environment variable,
 * seed (Helm value) name, default and help text. `parseCloudConfig` reads through it; the chart sets
 * these variables from the values of the same seed names.
 */

export interface CloudOptionSpec {
  readonly key: CloudOptionKey;
  /** The seed (Helm value) name; errors name the option by it. */
  readonly seedName?: string;
  readonly env: string;
  readonly default?: string;
  readonly help: string;
}

export type CloudOptionKey =
  | "acrInstances"
  | "region"
  | "vpcId"
  | "accessKeyId"
  | "accessKeySecret"
  | "rrsaEnable"
  | "rrsaRoleArn"
  | "rrsaOidcProviderArn"
  | "assumeRoleArn"
  | "expireDuration"
  | "oidcTokenFile"
  | "stsEndpoint"
  | "crEndpoint"
  | "refreshInterval"
  | "tempCredentials";

/** Where ACK's RRSA webhook mounts the projected token (audience sts.aliyuncs.com); the chart uses it too. */
export const DEFAULT_OIDC_TOKEN_FILE = "/var/run/secrets/ack.alibabacloud.com/rrsa-tokens/token";

export const CLOUD_OPTIONS: readonly CloudOptionSpec[] = Object.freeze([
  {
    key: "acrInstances",
    seedName: "acrInstances",
    env: "ACR_P2P_ACR_INSTANCES",
    help: 'ACR Enterprise Edition instance IDs, comma-separated ("cri-xxx,cri-yyy"); their registry hosts are accelerated.',
  },
  {
    key: "region",
    seedName: "region",
    env: "ACR_P2P_REGION",
    help: "Region of the ACR instances. Empty: the cluster's region, from the ECS metadata service.",
  },
  {
    key: "vpcId",
    seedName: "vpcId",
    env: "ACR_P2P_VPC_ID",
    help: "VPC linked to the instances (their VPC host names are used when it is linked). Empty: the cluster's VPC, from the ECS metadata service.",
  },
  {
    key: "accessKeyId",
    seedName: "accessKey",
    env: "ALIBABA_CLOUD_ACCESS_KEY_ID",
    help: "AccessKey ID of a RAM user (from a Secret). With accessKeySecret, selects the AccessKey method.",
  },
  {
    key: "accessKeySecret",
    seedName: "accessKeySecret",
    env: "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    help: "AccessKey secret of that RAM user (from a Secret). Never logged.",
  },
  {
    key: "rrsaEnable",
    seedName: "rrsa.enable",
    env: "ACR_P2P_RRSA_ENABLE",
    default: "false",
    help: "Use RRSA: exchange the controller's ServiceAccount token (audience sts.aliyuncs.com) for a RAM role's credentials.",
  },
  {
    key: "rrsaRoleArn",
    seedName: "rrsa.rrsaRoleARN",
    env: "ACR_P2P_RRSA_ROLE_ARN",
    help: "ARN of the RAM role the ServiceAccount token is exchanged for (AssumeRoleWithOIDC).",
  },
  {
    key: "rrsaOidcProviderArn",
    seedName: "rrsa.rrsaOIDCProviderRoleARN",
    env: "ACR_P2P_RRSA_OIDC_PROVIDER_ROLE_ARN",
    help: "ARN of the cluster's OIDC provider in RAM.",
  },
  {
    key: "assumeRoleArn",
    seedName: "rrsa.assumeRoleARN",
    env: "ACR_P2P_RRSA_ASSUME_ROLE_ARN",
    help: "Cross-account: ARN of the role (in the instance's account) assumed with the first credentials (AssumeRole).",
  },
  {
    key: "expireDuration",
    seedName: "rrsa.expireDuration",
    env: "ACR_P2P_RRSA_EXPIRE_DURATION",
    default: "3600",
    help: "Session duration in seconds (3600..43200) of the assumeRoleARN session; at most the role's maximum session duration.",
  },
  {
    key: "oidcTokenFile",
    env: "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
    default: DEFAULT_OIDC_TOKEN_FILE,
    help: "Path of the projected ServiceAccount token used by RRSA (re-read at every exchange: the kubelet rotates it).",
  },
  {
    key: "stsEndpoint",
    env: "ACR_P2P_STS_ENDPOINT",
    help: "STS endpoint host[:port]. Empty: sts-vpc.<region>.aliyuncs.com.",
  },
  {
    key: "crEndpoint",
    env: "ACR_P2P_CR_ENDPOINT",
    help: "CR OpenAPI endpoint host[:port]. Empty: cr-vpc.<region>.aliyuncs.com.",
  },
  {
    key: "refreshInterval",
    env: "ACR_P2P_ACR_REFRESH_INTERVAL",
    default: "300",
    help: "Seconds between two resolutions of the instances' host names (10..86400).",
  },
  {
    key: "tempCredentials",
    env: "ACR_P2P_ACR_TEMP_CREDENTIALS",
    default: "false",
    help: "Keep ACR temporary credentials (GetAuthorizationToken) as a pull secret for pods without pull secrets. Needs cr:GetAuthorizationToken.",
  },
] satisfies CloudOptionSpec[]);

export function cloudOption(key: CloudOptionKey): CloudOptionSpec {
  const found = CLOUD_OPTIONS.find((o) => o.key === key);
  if (!found) throw new Error(`unknown cloud option ${key}`);
  return found;
}

/** How errors name an option: `rrsa.expireDuration (ACR_P2P_RRSA_EXPIRE_DURATION)`. */
export function optionLabel(key: CloudOptionKey): string {
  const spec = cloudOption(key);
  return spec.seedName ? `${spec.seedName} (${spec.env})` : spec.env;
}
