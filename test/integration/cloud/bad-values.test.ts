/**
 * Bad values stop the controller's cloud start-up with a message that names the parameter: run as
 * its own process (resolve-once.ts), as the controller's entry point would run it.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCloudRig, type CloudRig, type Method } from "../../support/cloud/cloud-rig.ts";
import { parseResolveOnceOutput, type ResolveOnceResult } from "../../support/cloud/resolve-once.ts";
import { writeCaFile } from "../../support/cloud/test-ca.ts";
import { runCommand } from "../../support/origin/child-process.ts";

const RESOLVE_ONCE = join(import.meta.dirname, "../../support/cloud/resolve-once.ts");

describe("cloud credentials: bad values fail naming the parameter", function () {
  this.timeout(30_000);
  let rig: CloudRig;
  let dir: string;
  let caFile: string;

  before(async () => {
    rig = await startCloudRig();
    dir = mkdtempSync(join(tmpdir(), "acr-p2p-cloud-bad-"));
    caFile = writeCaFile(rig.ca, dir);
  });
  after(async () => {
    await rig.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function resolveOnce(
    method: Method,
    env: Record<string, string>,
  ): Promise<ResolveOnceResult["error"]> {
    const full = {
      PATH: process.env.PATH,
      NODE_EXTRA_CA_CERTS: caFile,
      ...rig.env(method, { tokenFile: rig.writeServiceAccountToken(dir) }),
      ...env,
    };
    const r = await runCommand(process.execPath, [RESOLVE_ONCE], { env: full, timeoutMs: 20_000 });
    expect(r.code, r.stdout + r.stderr).to.equal(1);
    return parseResolveOnceOutput(r.stdout)?.error;
  }

  for (const duration of ["100", "50000"]) {
    it(`rrsa.expireDuration ${duration}`, async () => {
      const error = await resolveOnce("rrsa-cross-account", { ACR_P2P_RRSA_EXPIRE_DURATION: duration });
      expect(error).to.deep.equal({
        code: "CLOUD_CONFIG_INVALID",
        parameter: "rrsa.expireDuration",
        message: `rrsa.expireDuration (ACR_P2P_RRSA_EXPIRE_DURATION): must be an integer from 3600 to 43200 seconds, got "${duration}"`,
      });
    });
  }

  it("an instance ID the CR API does not know", async () => {
    const error = await resolveOnce("accessKey", {
      ACR_P2P_ACR_INSTANCES: `${rig.local.id},cri-doesnotexist`,
    });
    expect(error?.code).to.equal("ACR_INSTANCE_NOT_FOUND");
    expect(error?.message).to.match(
      /^acrInstances: ACR instance cri-doesnotexist was not found in region cn-test/,
    );
  });

  it("a missing RRSA token file", async () => {
    const error = await resolveOnce("rrsa", { ALIBABA_CLOUD_OIDC_TOKEN_FILE: join(dir, "no-such-token") });
    expect(error?.code).to.equal("CLOUD_CONFIG_INVALID");
    expect(error?.parameter).to.equal("ALIBABA_CLOUD_OIDC_TOKEN_FILE");
    expect(error?.message)
      .to.contain(`the ServiceAccount token file ${join(dir, "no-such-token")} does not exist`)
      .and.contain("rrsa.enable is true");
  });
});
