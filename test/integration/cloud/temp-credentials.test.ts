/**
 * ACR temporary credentials over the wire: GetAuthorizationToken signed with the controller's
 * cross-account session; the derived pull secret holds a login the registry side (the CR emulator's
 * record of issued passwords) accepts, and is renewed in place before the password expires. With
 * STS credentials the password lives as long as the session, so both renew together.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InMemoryPullSecretStore } from "../../../webhook/pull-secrets/pull-secret-store.ts";
import { TEMP_CREDENTIALS_SECRET_NAME } from "../../../webhook/pull-secrets/temp-credentials.ts";
import { vpcDomain } from "../../support/cloud/cr-emulator.ts";
import { startCloudRig, type CloudRig } from "../../support/cloud/cloud-rig.ts";
import { startInProcess } from "../../support/cloud/in-process.ts";
import { advanceClock, restoreClock } from "../../support/cloud/shifted-clock.ts";

const MINUTE = 60_000;

describe("cloud credentials: ACR temporary credentials as a pull secret", function () {
  this.timeout(30_000);
  let rig: CloudRig;
  let dir: string;

  before(async () => {
    rig = await startCloudRig();
    dir = mkdtempSync(join(tmpdir(), "acr-p2p-cloud-temp-"));
  });
  afterEach(() => restoreClock());
  after(async () => {
    await rig.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes a login the registry accepts, and renews it before it expires", async () => {
    const store = new InMemoryPullSecretStore();
    store.namespaces.add("team-a");
    const tokenFile = rig.writeServiceAccountToken(dir, { ttlSeconds: 4 * 3600 });
    const { services } = await startInProcess(rig, "rrsa-cross-account", {
      tokenFile,
      extraEnv: { ACR_P2P_ACR_TEMP_CREDENTIALS: "true" },
      secretStore: store,
      rewriteAuthority: "127.0.0.1:65001",
    });
    services.stop();
    const temp = services.tempCredentials!;
    const login = (): { username: string; password: string } => {
      const secret = store.secrets.get(`team-a/${TEMP_CREDENTIALS_SECRET_NAME}`)!;
      const auths = JSON.parse(secret.data[".dockerconfigjson"]!).auths;
      return auths[`127.0.0.1:65001/${vpcDomain(rig.remote)}/`];
    };

    expect(await temp.ensureNamespace("team-a")).to.equal(TEMP_CREDENTIALS_SECRET_NAME);
    const first = login();
    expect(first.username).to.equal("cr_temp_user");
    expect(rig.cr.checkTempLogin(rig.remote.id, first.username, first.password)).to.equal(true);
    expect(rig.cr.calls.at(-1)).to.deep.include({
      action: "GetAuthorizationToken",
      ok: true,
      instanceId: rig.remote.id,
    });

    advanceClock(50 * MINUTE); // inside the password's (and the session's) last 15 minutes
    await temp.refresh();
    const second = login();
    expect(second.password).not.to.equal(first.password);

    advanceClock(20 * MINUTE); // the first password has expired; the renewed one has not
    expect(rig.cr.checkTempLogin(rig.remote.id, first.username, first.password)).to.equal(false);
    expect(rig.cr.checkTempLogin(rig.remote.id, second.username, second.password)).to.equal(true);
    expect(rig.cr.calls.filter((c) => !c.ok)).to.deep.equal([]);
    expect(temp.readiness().detail).to.match(/password expires in \d+s/);
  });
});
