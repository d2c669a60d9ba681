/**
 * One cloud scenario for the tests, built on FakeCloud and the emulators:
 *
 *   account A (the cluster's): OIDC provider for the cluster's issuer; role `acr-p2p-rrsa` trusting the
 *     controller's ServiceAccounts (the seed's trust policy) with the CR read actions; role
 *     `acr-p2p-hop` with the same trust but only sts:AssumeRole (the seed's scenario 2, account A);
 *     a RAM user with the CR actions (AccessKey method); the worker role of the node; instance `local`.
 *   account B (the registry's): role `acr-p2p-remote` trusting the hop role, max session 43200, with
 *     the CR actions; instance `remote`, invisible to account A.
 *
 *   startCloudRig({host?}) -> CloudRig        STS + CR emulators on loopback TLS (host default 127.0.0.1)
 *   rig.env(method, extra?) -> env vars       the controller's environment for that method
 *   rig.writeServiceAccountToken(dir) -> path a fresh RS256 ServiceAccount token file
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startCrEmulator, type CrEmulator } from "./cr-emulator.ts";
import { FakeCloud, type AcrInstance, type OidcProvider, type RamRole, type RamUser } from "./fake-cloud.ts";
import { createOidcIssuer, type JsonWebKeySet, type OidcIssuer } from "./oidc-issuer.ts";
import { startStsEmulator, type StsEmulator } from "./sts-emulator.ts";
import { createTestCa, type TestCa } from "./test-ca.ts";

export const REGION = "cn-test";
export const VPC_ID = "vpc-acrp2ptest";
export const CONTROLLER_NAMESPACE = "aliyun-acr-acceleration";
export const CONTROLLER_SA = "ack-acr-acceleration-p2p-sa";
const SUBJECTS = [
  `system:serviceaccount:${CONTROLLER_NAMESPACE}:ack-acr-acceleration-p2p-job-sa`,
  `system:serviceaccount:${CONTROLLER_NAMESPACE}:${CONTROLLER_SA}`,
];
export const CR_ACTIONS = [
  "cr:GetInstanceVpcEndpoint",
  "cr:ListInstanceEndpoint",
  "cr:GetAuthorizationToken",
];
const ACCOUNT_A = "1111111111111111";
const ACCOUNT_B = "2222222222222222";

export type Method = "rrsa" | "rrsa-cross-account" | "accessKey" | "workerRole";

export interface CloudRig {
  readonly ca: TestCa;
  readonly cloud: FakeCloud;
  readonly issuer: OidcIssuer;
  readonly provider: OidcProvider;
  readonly sts: StsEmulator;
  readonly cr: CrEmulator;
  readonly user: RamUser;
  readonly rrsaRole: RamRole;
  readonly hopRole: RamRole;
  readonly remoteRole: RamRole;
  readonly workerRole: RamRole;
  readonly local: AcrInstance;
  readonly remote: AcrInstance;
  writeServiceAccountToken(dir: string, options?: { ttlSeconds?: number; serviceAccount?: string }): string;
  env(method: Method, extra?: { tokenFile?: string; expireDuration?: number }): Record<string, string>;
  close(): Promise<void>;
}

export interface CloudRigOptions {
  readonly host?: string;
  readonly ca?: TestCa;
  /** The cluster's real issuer and JWKS (cluster tier: a kube-apiserver's), instead of the rig's own. */
  readonly oidc?: { readonly issuerUrl: string; readonly jwks: JsonWebKeySet };
}

export async function startCloudRig(options: CloudRigOptions = {}): Promise<CloudRig> {
  const ca = options.ca ?? createTestCa();
  const cloud = new FakeCloud();
  const issuer = createOidcIssuer("https://oidc-ack-cn-test.oss-cn-test.aliyuncs.com/c0123456789abcdef");
  const oidc = options.oidc ?? issuer;
  const provider = cloud.addOidcProvider(ACCOUNT_A, "ack-rrsa-c0123456789abcdef", oidc.issuerUrl, oidc.jwks);
  const oidcTrust = {
    oidc: {
      providerArn: provider.arn,
      subjects: SUBJECTS,
      audiences: ["sts.aliyuncs.com"],
      issuer: oidc.issuerUrl,
    },
  };
  const rrsaRole = cloud.addRole(ACCOUNT_A, "acr-p2p-rrsa", { trust: oidcTrust, actions: CR_ACTIONS });
  const hopRole = cloud.addRole(ACCOUNT_A, "acr-p2p-hop", { trust: oidcTrust, actions: ["sts:AssumeRole"] });
  const remoteRole = cloud.addRole(ACCOUNT_B, "acr-p2p-remote", {
    trust: { principals: [hopRole.arn] },
    actions: CR_ACTIONS,
    maxSessionDuration: 43200,
  });
  const workerRole = cloud.addRole(ACCOUNT_A, "KubernetesWorkerRole-test", {
    trust: {},
    actions: CR_ACTIONS,
  });
  const user = cloud.addUser(ACCOUNT_A, "acr-p2p", CR_ACTIONS);
  const local = cloud.addInstance(ACCOUNT_A, REGION, "local", [VPC_ID]);
  const remote = cloud.addInstance(ACCOUNT_B, REGION, "remote", [VPC_ID]);
  const host = options.host ?? "127.0.0.1";
  const sts = await startStsEmulator(cloud, ca, host);
  const cr = await startCrEmulator(cloud, ca, REGION, host);

  return {
    ca,
    cloud,
    issuer,
    provider,
    sts,
    cr,
    user,
    rrsaRole,
    hopRole,
    remoteRole,
    workerRole,
    local,
    remote,
    writeServiceAccountToken(dir, o = {}) {
      const path = join(dir, "token");
      writeFileSync(
        path,
        issuer.token({
          namespace: CONTROLLER_NAMESPACE,
          serviceAccount: o.serviceAccount ?? CONTROLLER_SA,
          ttlSeconds: o.ttlSeconds,
        }),
      );
      return path;
    },
    env(method, extra = {}) {
      const common = {
        ACR_P2P_REGION: REGION,
        ACR_P2P_VPC_ID: VPC_ID,
        ACR_P2P_STS_ENDPOINT: sts.endpoint,
        ACR_P2P_CR_ENDPOINT: cr.endpoint,
      };
      switch (method) {
        case "accessKey":
          return {
            ...common,
            ACR_P2P_ACR_INSTANCES: local.id,
            ALIBABA_CLOUD_ACCESS_KEY_ID: user.accessKeyId,
            ALIBABA_CLOUD_ACCESS_KEY_SECRET: user.accessKeySecret,
          };
        case "workerRole":
          // region and vpcId come from the metadata service in this method's test.
          return {
            ACR_P2P_ACR_INSTANCES: local.id,
            ACR_P2P_STS_ENDPOINT: sts.endpoint,
            ACR_P2P_CR_ENDPOINT: cr.endpoint,
          };
        case "rrsa":
        case "rrsa-cross-account": {
          const cross = method === "rrsa-cross-account";
          return {
            ...common,
            ACR_P2P_ACR_INSTANCES: cross ? remote.id : local.id,
            ACR_P2P_RRSA_ENABLE: "true",
            ACR_P2P_RRSA_ROLE_ARN: cross ? hopRole.arn : rrsaRole.arn,
            ACR_P2P_RRSA_OIDC_PROVIDER_ROLE_ARN: provider.arn,
            ...(cross
              ? {
                  ACR_P2P_RRSA_ASSUME_ROLE_ARN: remoteRole.arn,
                  ACR_P2P_RRSA_EXPIRE_DURATION: String(extra.expireDuration ?? 3600),
                }
              : {}),
            ...(extra.tokenFile ? { ALIBABA_CLOUD_OIDC_TOKEN_FILE: extra.tokenFile } : {}),
          };
        }
      }
    },
    async close() {
      await Promise.all([sts.close(), cr.close()]);
    },
  };
}
