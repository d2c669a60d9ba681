/**
 * The controller's cloud configuration: one frozen, typed object validated once at start. Only the
 * entry point passes `process.env` in. Every error names the seed parameter and its variable, e.g.
 * `rrsa.expireDuration (ACR_P2P_RRSA_EXPIRE_DURATION): must be an integer from 3600 to 43200 ...`.
 *
 * The authorization method follows the seed: RRSA when rrsa.enable is true, else the AccessKey pair
 * when one is given, else the worker RAM role of the node (ECS metadata service). rrsa.assumeRoleARN
 * adds the cross-account hop (AssumeRole with rrsa.expireDuration) on top of whichever method is used.
 */
import chartSchema from "../../manifests/ack-acr-acceleration-p2p/values.schema.json" with { type: "json" };
import { CloudConfigError } from "./cloud-errors.ts";
import { cloudOption, optionLabel, type CloudOptionKey } from "./cloud-options.ts";
import { SecretValue } from "./secret-value.ts";

export type CredentialMethod =
  | {
      readonly kind: "rrsa";
      readonly roleArn: string;
      readonly oidcProviderArn: string;
      readonly tokenFile: string;
    }
  | { readonly kind: "accessKey"; readonly accessKeyId: string; readonly accessKeySecret: SecretValue }
  | { readonly kind: "workerRole" };

export interface AssumeRoleHop {
  readonly roleArn: string;
  /** DurationSeconds sent to STS AssumeRole (rrsa.expireDuration). */
  readonly durationSeconds: number;
}

export interface CloudConfig {
  /** Empty: no ACR instance to resolve; the cloud layer is off and needs no credentials. */
  readonly acrInstances: readonly string[];
  /** Undefined: looked up from the ECS metadata service at start. */
  readonly region: string | undefined;
  readonly vpcId: string | undefined;
  readonly credentials: CredentialMethod;
  readonly assumeRole: AssumeRoleHop | undefined;
  /** host[:port]; undefined means the region's VPC endpoint. */
  readonly stsEndpoint: string | undefined;
  readonly crEndpoint: string | undefined;
  readonly refreshIntervalSeconds: number;
  readonly tempCredentials: boolean;
  /** RoleSessionName for STS: shows in ActionTrail as who made the calls. */
  readonly roleSessionName: string;
}

export const EXPIRE_DURATION_MIN = 3600;
export const EXPIRE_DURATION_MAX = 43200;

/**
 * The value rules are the chart's (values.schema.json `definitions`): `helm install` refuses what the
 * controller would refuse, from one table.
 */
const RULES = chartSchema.definitions;
const INSTANCE_ID_RE = new RegExp(RULES.acrInstanceId.pattern);
const REGION_RE = new RegExp(RULES.regionId.pattern);
const VPC_ID_RE = new RegExp(RULES.vpcId.pattern);
const ROLE_ARN_RE = new RegExp(RULES.ramRoleArn.pattern);
const OIDC_PROVIDER_ARN_RE = new RegExp(RULES.oidcProviderArn.pattern);
const ENDPOINT_RE = new RegExp(RULES.endpoint.pattern);

type Env = Readonly<Record<string, string | undefined>>;

function fail(key: CloudOptionKey, message: string): never {
  const spec = cloudOption(key);
  throw new CloudConfigError(spec.seedName ?? spec.env, `${optionLabel(key)}: ${message}`);
}

/** The raw value, trimmed; empty counts as unset (Helm renders unset values as ""). */
function raw(env: Env, key: CloudOptionKey): string | undefined {
  const spec = cloudOption(key);
  const value = (env[spec.env] ?? "").trim();
  if (value !== "") return value;
  return spec.default;
}

function matching(env: Env, key: CloudOptionKey, re: RegExp, what: string): string | undefined {
  const value = raw(env, key);
  if (value !== undefined && !re.test(value)) fail(key, `${JSON.stringify(value)} is not ${what}`);
  return value;
}

function bool(env: Env, key: CloudOptionKey): boolean {
  const value = (raw(env, key) ?? "false").toLowerCase();
  if (value === "true") return true;
  if (value === "false") return false;
  return fail(key, `must be true or false, got ${JSON.stringify(value)}`);
}

function integer(env: Env, key: CloudOptionKey, min: number, max: number, unit: string): number {
  const value = raw(env, key) ?? "";
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    fail(key, `must be an integer from ${min} to ${max} ${unit}, got ${JSON.stringify(value)}`);
  }
  return n;
}

function instances(env: Env): string[] {
  const value = raw(env, "acrInstances");
  if (value === undefined) return [];
  const ids = value.split(",").map((s) => s.trim());
  for (const id of ids) {
    if (!INSTANCE_ID_RE.test(id)) {
      fail(
        "acrInstances",
        `${JSON.stringify(id)} is not an ACR instance ID (cri-...); separate IDs with commas`,
      );
    }
  }
  return [...new Set(ids)];
}

function credentialMethod(env: Env, rrsa: boolean): CredentialMethod {
  const accessKeyId = raw(env, "accessKeyId");
  const accessKeySecret = raw(env, "accessKeySecret");
  if ((accessKeyId === undefined) !== (accessKeySecret === undefined)) {
    fail(
      accessKeyId === undefined ? "accessKeyId" : "accessKeySecret",
      "accessKey and accessKeySecret go together",
    );
  }
  if (rrsa) {
    if (accessKeyId !== undefined) {
      fail("rrsaEnable", "is true and accessKey is set too: choose one authorization method");
    }
    const roleArn = matching(env, "rrsaRoleArn", ROLE_ARN_RE, RULES.ramRoleArn.description);
    if (roleArn === undefined) fail("rrsaRoleArn", "is required when rrsa.enable is true");
    const providerArn = matching(
      env,
      "rrsaOidcProviderArn",
      OIDC_PROVIDER_ARN_RE,
      RULES.oidcProviderArn.description,
    );
    if (providerArn === undefined) fail("rrsaOidcProviderArn", "is required when rrsa.enable is true");
    const tokenFile = raw(env, "oidcTokenFile");
    if (tokenFile === undefined || !tokenFile.startsWith("/")) {
      fail("oidcTokenFile", `must be an absolute path, got ${JSON.stringify(tokenFile ?? "")}`);
    }
    return { kind: "rrsa", roleArn, oidcProviderArn: providerArn, tokenFile };
  }
  if (accessKeyId !== undefined && accessKeySecret !== undefined) {
    return { kind: "accessKey", accessKeyId, accessKeySecret: new SecretValue(accessKeySecret) };
  }
  return { kind: "workerRole" };
}

export function parseCloudConfig(env: Env): CloudConfig {
  const acrInstances = instances(env);
  const rrsa = bool(env, "rrsaEnable");
  const credentials = credentialMethod(env, rrsa);
  // Validated even without assumeRoleARN: a bad value in the chart is a mistake worth reporting.
  const durationSeconds = integer(env, "expireDuration", EXPIRE_DURATION_MIN, EXPIRE_DURATION_MAX, "seconds");
  const assumeRoleArn = matching(env, "assumeRoleArn", ROLE_ARN_RE, RULES.ramRoleArn.description);
  const tempCredentials = bool(env, "tempCredentials");
  if (tempCredentials && acrInstances.length === 0) {
    fail("tempCredentials", "is true but acrInstances is empty: temporary credentials are per ACR instance");
  }
  return Object.freeze({
    acrInstances: Object.freeze(acrInstances),
    region: matching(env, "region", REGION_RE, RULES.regionId.description),
    vpcId: matching(env, "vpcId", VPC_ID_RE, RULES.vpcId.description),
    credentials: Object.freeze(credentials),
    assumeRole:
      assumeRoleArn === undefined ? undefined : Object.freeze({ roleArn: assumeRoleArn, durationSeconds }),
    stsEndpoint: matching(env, "stsEndpoint", ENDPOINT_RE, RULES.endpoint.description),
    crEndpoint: matching(env, "crEndpoint", ENDPOINT_RE, RULES.endpoint.description),
    refreshIntervalSeconds: integer(env, "refreshInterval", 10, 86400, "seconds"),
    tempCredentials,
    roleSessionName: "acr-p2p-controller",
  });
}
