/**
 * The controller's cloud credentials, built with @alicloud/credentials providers (no signing or token
 * exchange written here) for the seed's three methods, plus the cross-account hop:
 *
 *   rrsa        OIDCRoleArnCredentialsProvider: STS AssumeRoleWithOIDC with the projected
 *               ServiceAccount token (re-read from the file at every exchange; the call is unsigned,
 *               STS verifies the token itself).
 *   accessKey   StaticAKCredentialsProvider: the RAM user's pair, used as is.
 *   workerRole  ECSRAMRoleCredentialsProvider: the node's RAM role from the ECS metadata service at
 *               100.100.100.200, with the metadata token flow (PUT /latest/api/token) and no fallback
 *               to token-less requests (IMDSv1 disabled).
 *   assumeRole  RAMRoleARNCredentialsProvider on top of any of them: STS AssumeRole, signed by the
 *               library with HMAC-SHA1 signature v1 (RPC style; node_modules/@alicloud/credentials/dist
 *               /src/providers/ram_role_arn.js), DurationSeconds = rrsa.expireDuration.
 *
 * Refresh: the session providers (all but accessKey) refresh when a call comes within 15 minutes of
 * the session's Expiration (ecs_ram_role also prefetches an hour ahead), keep serving the old session
 * if a refresh fails while it is still valid, and every CR call asks for credentials first. So no
 * call is made with an expired session as long as one call happens per 15 minutes, which the
 * resolver's refresh interval (at most a few minutes by default) guarantees.
 */
import { constants } from "node:fs";
import { access } from "node:fs/promises";
import credentialsModule from "@alicloud/credentials";
import { CloudConfigError } from "./cloud-errors.ts";
import type { CloudConfig } from "./cloud-config.ts";
import { optionLabel } from "./cloud-options.ts";

const {
  default: Credential,
  ECSRAMRoleCredentialsProvider,
  OIDCRoleArnCredentialsProvider,
  RAMRoleARNCredentialsProvider,
  StaticAKCredentialsProvider,
} = credentialsModule;

/** What openapi-core's Config takes as `credential`. */
export type CloudCredential = InstanceType<typeof Credential>;

/** The library's CredentialsProvider interface (not exported by name from its entry point). */
type Provider = Parameters<
  ReturnType<typeof RAMRoleARNCredentialsProvider.builder>["withCredentialsProvider"]
>[0];

/** The default STS endpoint inside a VPC (the controller runs in one; no internet egress needed). */
export function defaultStsEndpoint(region: string): string {
  return `sts-vpc.${region}.aliyuncs.com`;
}

/**
 * Checks what can be checked before the first call: the RRSA token file must exist and be readable
 * (a missing projected volume otherwise shows up only as a failed exchange later).
 */
export async function checkCredentialSources(config: CloudConfig): Promise<void> {
  const method = config.credentials;
  if (method.kind !== "rrsa") return;
  try {
    await access(method.tokenFile, constants.R_OK);
  } catch {
    throw new CloudConfigError(
      "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
      `${optionLabel("oidcTokenFile")}: the ServiceAccount token file ${method.tokenFile} does not exist or is not ` +
        `readable; rrsa.enable is true, so the chart must mount the projected token (audience sts.aliyuncs.com) there`,
    );
  }
}

/** Builds the credential chain for `config`; `region` is the resolved region (config or metadata). */
export function createCloudCredential(
  config: CloudConfig,
  region: string,
): { credential: CloudCredential; providerName: string } {
  const stsEndpoint = config.stsEndpoint ?? defaultStsEndpoint(region);
  const method = config.credentials;
  let provider: Provider;
  switch (method.kind) {
    case "rrsa":
      provider = OIDCRoleArnCredentialsProvider.builder()
        .withRoleArn(method.roleArn)
        .withOIDCProviderArn(method.oidcProviderArn)
        .withOIDCTokenFilePath(method.tokenFile)
        .withRoleSessionName(config.roleSessionName)
        .withStsEndpoint(stsEndpoint)
        .build();
      break;
    case "accessKey":
      provider = StaticAKCredentialsProvider.builder()
        .withAccessKeyId(method.accessKeyId)
        .withAccessKeySecret(method.accessKeySecret.reveal())
        .build();
      break;
    case "workerRole":
      provider = ECSRAMRoleCredentialsProvider.builder().withDisableIMDSv1(true).build();
      break;
  }
  if (config.assumeRole) {
    provider = RAMRoleARNCredentialsProvider.builder()
      .withCredentialsProvider(provider)
      .withRoleArn(config.assumeRole.roleArn)
      .withDurationSeconds(config.assumeRole.durationSeconds)
      .withRoleSessionName(config.roleSessionName)
      .withStsEndpoint(stsEndpoint)
      .build();
  }
  return {
    credential: new Credential(null, singleFlight(provider)),
    providerName: provider.getProviderName(),
  };
}

/**
 * The library's session providers do not coalesce concurrent refreshes: two CR calls started
 * together with no valid session would each run a token exchange. One in-flight exchange is shared.
 */
function singleFlight(provider: Provider): Provider {
  let inFlight: ReturnType<Provider["getCredentials"]> | undefined;
  return {
    getProviderName: () => provider.getProviderName(),
    getCredentials: () => {
      inFlight ??= provider.getCredentials().finally(() => (inFlight = undefined));
      return inFlight;
    },
  };
}
