/**
 * Credentials near expiry are refreshed before a call needs them, so no CR call ever fails for an
 * expired session. The JS clock is moved forward (shifted-clock.ts) for the providers, the signers
 * and the emulators alike; the emulators refuse expired sessions, as the last test shows.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import credentialsModule from "@alicloud/credentials";
import { CrOpenApiClient } from "../../../webhook/cloud/cr-openapi-client.ts";
import { CrApiError } from "../../../webhook/cloud/cloud-errors.ts";
import { startCloudRig, type CloudRig } from "../../support/cloud/cloud-rig.ts";
import { metricValue, startInProcess } from "../../support/cloud/in-process.ts";
import { advanceClock, restoreClock } from "../../support/cloud/shifted-clock.ts";

const { default: Credential, Config } = credentialsModule;
const MINUTE = 60_000;

describe("cloud credentials: refresh before expiry", function () {
  this.timeout(30_000);
  let rig: CloudRig;
  let dir: string;

  before(async () => {
    rig = await startCloudRig();
    dir = mkdtempSync(join(tmpdir(), "acr-p2p-cloud-expiry-"));
  });
  afterEach(() => restoreClock());
  after(async () => {
    await rig.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("renews both sessions of the cross-account chain within 15 minutes of expiry, with no failed call", async () => {
    const tokenFile = rig.writeServiceAccountToken(dir, { ttlSeconds: 4 * 3600 });
    const sts0 = rig.sts.calls.length;
    const cr0 = rig.cr.calls.length;
    const { services, registry } = await startInProcess(rig, "rrsa-cross-account", {
      tokenFile,
      expireDuration: 3600,
    });
    services.stop();
    expect(rig.sts.calls.length - sts0).to.equal(2);

    advanceClock(30 * MINUTE); // fresh enough: no exchange
    await services.resolver.refresh();
    expect(rig.sts.calls.length - sts0).to.equal(2);

    advanceClock(20 * MINUTE); // 50 minutes in: inside the last 15 minutes of both sessions
    await services.resolver.refresh();
    expect(rig.sts.calls.slice(sts0 + 2).map((c) => [c.action, c.ok, c.durationSeconds])).to.deep.equal([
      ["AssumeRoleWithOIDC", true, 3600],
      ["AssumeRole", true, 3600],
    ]);

    advanceClock(20 * MINUTE); // 70 minutes in: the first sessions have expired
    await services.resolver.refresh();

    const crCalls = rig.cr.calls.slice(cr0);
    expect(crCalls).to.have.length(8);
    expect(crCalls.filter((c) => !c.ok)).to.deep.equal([]);
    const keys = [...new Set(crCalls.map((c) => c.accessKeyId))];
    expect(keys).to.have.length(2); // first session, then the renewed one
    expect(await metricValue(registry, "acr_p2p_acr_resolve_failures_total", {})).to.equal(0);
    expect(services.resolver.readiness().detail).not.to.contain("failed");
  });

  it("the emulated CR API refuses a session once it has expired (what the refresh avoids)", async () => {
    const session = rig.cloud.issueSession(rig.rrsaRole, 3600, "static");
    const credential = new Credential(
      new Config({
        type: "sts",
        accessKeyId: session.accessKeyId,
        accessKeySecret: session.accessKeySecret,
        securityToken: session.securityToken,
      }),
    );
    const client = new CrOpenApiClient({ endpoint: rig.cr.endpoint, region: "cn-test", credential });
    expect(await client.listInstanceEndpoint(rig.local.id)).to.have.length(2);
    advanceClock(61 * MINUTE);
    const err = await client.listInstanceEndpoint(rig.local.id).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(CrApiError);
    expect((err as CrApiError).apiCode).to.equal("InvalidSecurityToken.Expired");
  });
});
