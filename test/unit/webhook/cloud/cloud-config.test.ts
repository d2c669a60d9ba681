import chartSchema from "../../../../manifests/ack-acr-acceleration-p2p/values.schema.json" with { type: "json" };
import { expect } from "chai";
import { inspect } from "node:util";
import { parseCloudConfig } from "../../../../webhook/cloud/cloud-config.ts";
import { CloudConfigError } from "../../../../webhook/cloud/cloud-errors.ts";
import { DEFAULT_OIDC_TOKEN_FILE } from "../../../../webhook/cloud/cloud-options.ts";

const RRSA = {
  ACR_P2P_ACR_INSTANCES: "cri-abc123",
  ACR_P2P_RRSA_ENABLE: "true",
  ACR_P2P_RRSA_ROLE_ARN: "acs:ram::1111111111111111:role/acr-p2p",
  ACR_P2P_RRSA_OIDC_PROVIDER_ROLE_ARN: "acs:ram::1111111111111111:oidc-provider/ack-rrsa-c1",
};

function configError(env: Record<string, string>): CloudConfigError {
  try {
    parseCloudConfig(env);
  } catch (err) {
    expect(err).to.be.instanceOf(CloudConfigError);
    return err as CloudConfigError;
  }
  throw new Error("expected a CloudConfigError");
}

describe("cloud config", () => {
  it("selects RRSA with the ACK token path by default and no cross-account hop", () => {
    const c = parseCloudConfig(RRSA);
    expect(c.credentials).to.deep.equal({
      kind: "rrsa",
      roleArn: RRSA.ACR_P2P_RRSA_ROLE_ARN,
      oidcProviderArn: RRSA.ACR_P2P_RRSA_OIDC_PROVIDER_ROLE_ARN,
      tokenFile: DEFAULT_OIDC_TOKEN_FILE,
    });
    expect(c.assumeRole).to.equal(undefined);
    expect(c.region).to.equal(undefined);
    expect(Object.isFrozen(c)).to.equal(true);
  });

  it("adds the cross-account hop with rrsa.expireDuration", () => {
    const c = parseCloudConfig({
      ...RRSA,
      ACR_P2P_RRSA_ASSUME_ROLE_ARN: "acs:ram::2222222222222222:role/acr-remote",
      ACR_P2P_RRSA_EXPIRE_DURATION: "43200",
    });
    expect(c.assumeRole).to.deep.equal({
      roleArn: "acs:ram::2222222222222222:role/acr-remote",
      durationSeconds: 43200,
    });
  });

  for (const bad of ["100", "50000", "3599", "43201", "1h", "-3600"]) {
    it(`rejects rrsa.expireDuration ${bad}, naming the parameter`, () => {
      const err = configError({ ...RRSA, ACR_P2P_RRSA_EXPIRE_DURATION: bad });
      expect(err.parameter).to.equal("rrsa.expireDuration");
      expect(err.code).to.equal("CLOUD_CONFIG_INVALID");
      expect(err.message).to.match(
        /^rrsa\.expireDuration \(ACR_P2P_RRSA_EXPIRE_DURATION\): must be an integer from 3600 to 43200/,
      );
      expect(err.message).to.contain(JSON.stringify(bad));
    });
  }

  it("accepts the bounds 3600 and 43200", () => {
    for (const d of ["3600", "43200"])
      expect(parseCloudConfig({ ...RRSA, ACR_P2P_RRSA_EXPIRE_DURATION: d })).to.be.an("object");
  });

  it("names the instance ID that is not one", () => {
    const err = configError({ ACR_P2P_ACR_INSTANCES: "cri-ok1, registry.example.com" });
    expect(err.parameter).to.equal("acrInstances");
    expect(err.message).to.contain('"registry.example.com" is not an ACR instance ID');
  });

  it("splits, trims and dedupes acrInstances", () => {
    expect(parseCloudConfig({ ACR_P2P_ACR_INSTANCES: "cri-a1 , cri-b2,cri-a1" }).acrInstances).to.deep.equal([
      "cri-a1",
      "cri-b2",
    ]);
  });

  it("requires the role and provider ARNs with rrsa.enable", () => {
    expect(configError({ ...RRSA, ACR_P2P_RRSA_ROLE_ARN: "" }).parameter).to.equal("rrsa.rrsaRoleARN");
    expect(configError({ ...RRSA, ACR_P2P_RRSA_OIDC_PROVIDER_ROLE_ARN: "" }).parameter).to.equal(
      "rrsa.rrsaOIDCProviderRoleARN",
    );
    expect(configError({ ...RRSA, ACR_P2P_RRSA_ROLE_ARN: "arn:aws:iam::1:role/x" }).message).to.contain(
      "is not a RAM role ARN",
    );
  });

  it("refuses RRSA and an AccessKey pair together", () => {
    const err = configError({
      ...RRSA,
      ALIBABA_CLOUD_ACCESS_KEY_ID: "LTAIx",
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: "s",
    });
    expect(err.parameter).to.equal("rrsa.enable");
  });

  it("needs both halves of the AccessKey pair", () => {
    expect(configError({ ALIBABA_CLOUD_ACCESS_KEY_ID: "LTAIx" }).parameter).to.equal("accessKeySecret");
    expect(configError({ ALIBABA_CLOUD_ACCESS_KEY_SECRET: "s" }).parameter).to.equal("accessKey");
  });

  it("never prints the AccessKey secret", () => {
    const c = parseCloudConfig({
      ALIBABA_CLOUD_ACCESS_KEY_ID: "LTAIx",
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: "very-secret",
    });
    expect(c.credentials.kind).to.equal("accessKey");
    expect(JSON.stringify(c)).not.to.contain("very-secret");
    expect(inspect(c, { depth: 10 })).not.to.contain("very-secret");
    if (c.credentials.kind === "accessKey")
      expect(c.credentials.accessKeySecret.reveal()).to.equal("very-secret");
  });

  it("falls back to the worker role without RRSA or a key pair", () => {
    expect(parseCloudConfig({ ACR_P2P_ACR_INSTANCES: "cri-a1" }).credentials).to.deep.equal({
      kind: "workerRole",
    });
  });

  it("validates region, vpcId, endpoints, booleans and the refresh interval", () => {
    expect(configError({ ACR_P2P_REGION: "Hangzhou" }).parameter).to.equal("region");
    expect(configError({ ACR_P2P_VPC_ID: "subnet-1" }).parameter).to.equal("vpcId");
    expect(configError({ ACR_P2P_CR_ENDPOINT: "https://cr.example.com" }).parameter).to.equal(
      "ACR_P2P_CR_ENDPOINT",
    );
    expect(configError({ ACR_P2P_RRSA_ENABLE: "yes" }).parameter).to.equal("rrsa.enable");
    expect(configError({ ACR_P2P_ACR_REFRESH_INTERVAL: "1" }).parameter).to.equal(
      "ACR_P2P_ACR_REFRESH_INTERVAL",
    );
    expect(configError({ ACR_P2P_ACR_TEMP_CREDENTIALS: "true" }).parameter).to.equal(
      "ACR_P2P_ACR_TEMP_CREDENTIALS",
    );
    const c = parseCloudConfig({
      ACR_P2P_REGION: "cn-hangzhou",
      ACR_P2P_VPC_ID: "vpc-bp1abc",
      ACR_P2P_CR_ENDPOINT: "127.0.0.1:8443",
    });
    expect([c.region, c.vpcId, c.crEndpoint, c.refreshIntervalSeconds]).to.deep.equal([
      "cn-hangzhou",
      "vpc-bp1abc",
      "127.0.0.1:8443",
      300,
    ]);
  });
});

describe("cloud configuration: one rule table with the chart", () => {
  // The chart's values.schema.json definitions: helm install refuses what the controller refuses.
  const rules = chartSchema.definitions;
  type Rule = "acrInstanceId" | "regionId" | "vpcId" | "ramRoleArn" | "endpoint" | "oidcProviderArn";
  const cases: [Rule, string, Record<string, string>, string, string][] = [
    ["acrInstanceId", "ACR_P2P_ACR_INSTANCES", {}, "cri-abc123", "CRI-abc"],
    ["regionId", "ACR_P2P_REGION", {}, "cn-hangzhou", "Hangzhou"],
    ["vpcId", "ACR_P2P_VPC_ID", {}, "vpc-abc", "net-abc"],
    ["ramRoleArn", "ACR_P2P_RRSA_ASSUME_ROLE_ARN", {}, "acs:ram::123:role/r", "acs:ram::aaa"],
    ["endpoint", "ACR_P2P_STS_ENDPOINT", {}, "sts-vpc.cn-hangzhou.aliyuncs.com", "https://sts.aliyuncs.com"],
    [
      "oidcProviderArn",
      "ACR_P2P_RRSA_OIDC_PROVIDER_ROLE_ARN",
      { ACR_P2P_RRSA_ENABLE: "true", ACR_P2P_RRSA_ROLE_ARN: "acs:ram::1:role/r" },
      "acs:ram::1:oidc-provider/p",
      "acs:ram::1:role/p",
    ],
  ];
  for (const [rule, env, base, good, bad] of cases) {
    it(`${env} follows the chart's ${rule}: ${good} passes both, ${bad} fails both`, () => {
      const pattern = new RegExp(rules[rule].pattern);
      expect(pattern.test(good)).to.equal(true);
      expect(pattern.test(bad)).to.equal(false);
      expect(() => parseCloudConfig({ ...base, [env]: good })).to.not.throw();
      expect(() => parseCloudConfig({ ...base, [env]: bad })).to.throw(CloudConfigError);
    });
  }
});
