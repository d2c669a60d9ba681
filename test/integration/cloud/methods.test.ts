/**
 * Each authorization method gets credentials from the emulated cloud and resolves an instance's
 * hosts, with the signatures, tokens and trust policies checked by the STS and CR emulators. (The
 * worker role has its own file: it needs a network namespace.)
 */
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { internetDomain, vpcDomain } from "../../support/cloud/cr-emulator.ts";
import { startCloudRig, type CloudRig } from "../../support/cloud/cloud-rig.ts";
import { startInProcess } from "../../support/cloud/in-process.ts";
import { createOidcIssuer } from "../../support/cloud/oidc-issuer.ts";
import { runCommand } from "../../support/origin/child-process.ts";
import { writeCaFile } from "../../support/cloud/test-ca.ts";
import { parseResolveOnceOutput } from "../../support/cloud/resolve-once.ts";

const RESOLVE_ONCE = join(import.meta.dirname, "../../support/cloud/resolve-once.ts");

describe("cloud credentials: each method resolves an instance's hosts", function () {
  this.timeout(30_000);
  let rig: CloudRig;
  let dir: string;

  before(async () => {
    rig = await startCloudRig();
    dir = mkdtempSync(join(tmpdir(), "acr-p2p-cloud-"));
  });
  after(async () => {
    await rig.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("AccessKey pair: CR calls signed with ACS3-HMAC-SHA256 by the RAM user's key", async () => {
    const before = rig.cr.calls.length;
    const { services } = await startInProcess(rig, "accessKey");
    services.stop();
    expect(services.providerName).to.equal("static_ak");
    expect([...services.resolver.acceleratedHosts()].sort()).to.deep.equal(
      [vpcDomain(rig.local), internetDomain(rig.local)].sort(),
    );
    const calls = rig.cr.calls.slice(before);
    expect(calls.map((c) => [c.action, c.ok, c.accessKeyId])).to.have.deep.members([
      ["ListInstanceEndpoint", true, rig.user.accessKeyId],
      ["GetInstanceVpcEndpoint", true, rig.user.accessKeyId],
    ]);
  });

  it("AccessKey pair with a wrong secret: the CR emulator refuses the signature and readiness says so", async () => {
    const { services } = await startInProcess(rig, "accessKey", {
      extraEnv: { ALIBABA_CLOUD_ACCESS_KEY_SECRET: "not-the-secret" },
    });
    services.stop();
    expect(services.resolver.readiness().ready).to.equal(false);
    expect(services.resolver.readiness().detail)
      .to.contain("CR_API_ERROR")
      .and.contain("SignatureDoesNotMatch");
    expect(rig.cr.calls.at(-1)).to.deep.include({ ok: false, code: "SignatureDoesNotMatch" });
  });

  it("RRSA: the ServiceAccount token is exchanged by AssumeRoleWithOIDC, then the role's session signs", async () => {
    const tokenFile = rig.writeServiceAccountToken(dir);
    const sts = rig.sts.calls.length;
    const { services } = await startInProcess(rig, "rrsa", { tokenFile });
    services.stop();
    expect(services.providerName).to.equal("oidc_role_arn");
    expect(services.resolver.readiness().ready).to.equal(true);
    expect(services.resolver.acceleratedHosts().has(vpcDomain(rig.local))).to.equal(true);
    expect(rig.sts.calls.slice(sts)).to.deep.equal([
      {
        action: "AssumeRoleWithOIDC",
        ok: true,
        subject: "system:serviceaccount:aliyun-acr-acceleration:ack-acr-acceleration-p2p-sa",
        roleArn: rig.rrsaRole.arn,
        durationSeconds: 3600,
      },
    ]);
    const session = rig.cloud.sessions.get(rig.cr.calls.at(-1)!.accessKeyId!);
    expect(session?.role.arn).to.equal(rig.rrsaRole.arn);
  });

  it("RRSA refuses a token of a ServiceAccount the role does not trust, and one for another audience", async () => {
    const untrusted = rig.writeServiceAccountToken(dir, { serviceAccount: "default" });
    const a = await startInProcess(rig, "rrsa", { tokenFile: untrusted });
    a.services.stop();
    expect(a.services.resolver.readiness().detail).to.contain("CREDENTIALS_UNAVAILABLE");
    expect(rig.sts.calls.at(-1)).to.deep.include({
      action: "AssumeRoleWithOIDC",
      ok: false,
      code: "NoPermission.RoleTrustPolicy",
    });

    const wrongAudience = join(dir, "token-aud");
    writeFileSync(
      wrongAudience,
      rig.issuer.token({
        namespace: "aliyun-acr-acceleration",
        serviceAccount: "ack-acr-acceleration-p2p-sa",
        audience: "acr-p2p",
      }),
    );
    const b = await startInProcess(rig, "rrsa", { tokenFile: wrongAudience });
    b.services.stop();
    expect(b.services.resolver.readiness().ready).to.equal(false);
    expect(rig.sts.calls.at(-1)).to.deep.include({
      ok: false,
      code: "AuthenticationFail.OIDCToken.AudienceNotMatch",
    });
  });

  it("RRSA refuses a token signed by another key", async () => {
    const impostor = createOidcIssuer(rig.issuer.issuerUrl);
    const tokenFile = join(dir, "token-impostor");
    writeFileSync(
      tokenFile,
      impostor.token({ namespace: "aliyun-acr-acceleration", serviceAccount: "ack-acr-acceleration-p2p-sa" }),
    );
    const { services } = await startInProcess(rig, "rrsa", { tokenFile });
    services.stop();
    expect(services.resolver.readiness().ready).to.equal(false);
    expect(rig.sts.calls.at(-1)?.code).to.match(/^AuthenticationFail\.OIDCToken\.Invalid(Key|Signature)$/);
  });

  it("cross-account: AssumeRole (HMAC-SHA1 v1) into the registry account's role with rrsa.expireDuration", async () => {
    const tokenFile = rig.writeServiceAccountToken(dir);
    for (const duration of [7200, 43200]) {
      const sts = rig.sts.calls.length;
      const { services } = await startInProcess(rig, "rrsa-cross-account", {
        tokenFile,
        expireDuration: duration,
      });
      services.stop();
      expect(services.providerName).to.equal("ram_role_arn/oidc_role_arn");
      expect([...services.resolver.acceleratedHosts()].sort()).to.deep.equal(
        [vpcDomain(rig.remote), internetDomain(rig.remote)].sort(),
      );
      expect(
        rig.sts.calls.slice(sts).map((c) => [c.action, c.ok, c.roleArn, c.durationSeconds]),
      ).to.deep.equal([
        ["AssumeRoleWithOIDC", true, rig.hopRole.arn, 3600],
        ["AssumeRole", true, rig.remoteRole.arn, duration],
      ]);
      expect(rig.sts.calls.at(-1)?.caller).to.equal(rig.hopRole.arn);
    }
  });

  it("cross-account hop signed with a wrong key: STS refuses the HMAC-SHA1 signature", async () => {
    const extraEnv = {
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: "not-the-secret",
      ACR_P2P_RRSA_ASSUME_ROLE_ARN: rig.remoteRole.arn,
      ACR_P2P_ACR_INSTANCES: rig.remote.id,
    };
    const { services } = await startInProcess(rig, "accessKey", { extraEnv });
    services.stop();
    expect(services.resolver.readiness().detail).to.contain("CREDENTIALS_UNAVAILABLE");
    expect(rig.sts.calls.at(-1)).to.deep.include({
      action: "AssumeRole",
      ok: false,
      code: "SignatureDoesNotMatch",
    });
  });

  it("cross-account: without the second role the instance is invisible, and start fails naming acrInstances", async () => {
    const tokenFile = rig.writeServiceAccountToken(dir);
    const env = { ACR_P2P_ACR_INSTANCES: rig.remote.id };
    const error = await startInProcess(rig, "rrsa", { tokenFile, extraEnv: env }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).to.match(
      new RegExp(`^acrInstances: ACR instance ${rig.remote.id} was not found in region cn-test`),
    );
  });

  it("RRSA as deployed: its own process, the CA trusted through NODE_EXTRA_CA_CERTS", async () => {
    const env = {
      PATH: process.env.PATH,
      NODE_EXTRA_CA_CERTS: writeCaFile(rig.ca, dir),
      ...rig.env("rrsa-cross-account", {
        tokenFile: rig.writeServiceAccountToken(dir),
        expireDuration: 3600,
      }),
    };
    const r = await runCommand(process.execPath, [RESOLVE_ONCE], { env, timeoutMs: 30_000 });
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    const result = parseResolveOnceOutput(r.stdout)!;
    expect(result.readiness?.ready).to.equal(true);
    expect(result.hosts).to.include(vpcDomain(rig.remote));
    expect(result.placement).to.deep.equal({ region: "cn-test", vpcId: "vpc-acrp2ptest" });
  });
});
