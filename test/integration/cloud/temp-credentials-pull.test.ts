/**
 * End to end without a cluster: ACR temporary credentials pulling through the sidecar. The CR
 * emulator's instance points its internet domain at a real token-auth origin (docker-registry + token
 * server); the token server learns each temporary password when the CR emulator issues it, and knows
 * only the latest (so a stale secret is refused). The controller's secret for namespace `apps` holds
 * the login under the sidecar's rewritten prefix; skopeo pulls through the sidecar with exactly that
 * login, before and after a renewal. Passwords live 4 s here so the renewal (at half-life) is real.
 */
import { expect } from "chai";
import { join } from "node:path";
import { encodeHostForPath } from "../../../contract/registry-host.ts";
import { InMemoryPullSecretStore } from "../../../webhook/pull-secrets/pull-secret-store.ts";
import { TEMP_CREDENTIALS_SECRET_NAME } from "../../../webhook/pull-secrets/temp-credentials.ts";
import type { CloudServices } from "../../../webhook/server/cloud-services.ts";
import { startCloudRig, type CloudRig } from "../../support/cloud/cloud-rig.ts";
import { startInProcess } from "../../support/cloud/in-process.ts";
import { splitLayers } from "../../support/images/layers.ts";
import { pushImage, type PushedImage } from "../../support/images/push.ts";
import { makeTempDir, removeTempDir } from "../../support/origin/child-process.ts";
import { DEFAULT_USERS, startOrigin, type Origin } from "../../support/origin/origin-stack.ts";
import { skopeoCopy } from "../../support/pull-clients/skopeo.ts";
import { startTestSidecar, type TestSidecar } from "../sidecar/sidecar-harness.ts";

const MiB = 1024 * 1024;

describe("cloud credentials: temporary credentials pull through the sidecar", function () {
  this.timeout(120_000);
  let rig: CloudRig;
  let origin: Origin;
  let side: TestSidecar;
  let services: CloudServices;
  let image: PushedImage;
  let other: PushedImage;
  let out: string;
  const store = new InMemoryPullSecretStore();

  before(async () => {
    origin = await startOrigin({
      users: {
        ...DEFAULT_USERS,
        cr_temp_user: {
          password: "none issued yet",
          grants: [{ repository: "team-a/*", actions: ["pull"] }],
        },
      },
    });
    image = await pushImage(origin.pushClient(), {
      repo: "team-a/app",
      tag: "v1",
      layers: splitLayers(3 * MiB, 2, "temp-creds"),
    });
    other = await pushImage(origin.pushClient(), {
      repo: "team-a/other",
      tag: "v1",
      layers: splitLayers(MiB, 1, "temp-creds-other"),
    });
    rig = await startCloudRig();
    rig.local.internetDomainOverride = origin.proxy.host;
    rig.cr.tempPasswordSeconds = 4;
    rig.cr.onTempLogin = (login) => {
      origin.tokenServer!.users.get("cr_temp_user")!.password = login.password;
    };
    side = await startTestSidecar(origin);
    store.namespaces.add("apps");
    ({ services } = await startInProcess(rig, "accessKey", {
      extraEnv: { ACR_P2P_ACR_TEMP_CREDENTIALS: "true" },
      secretStore: store,
      rewriteAuthority: side.host,
    }));
    services.stop();
    out = makeTempDir("temp-creds-pull");
  });
  after(async () => {
    services?.stop();
    await side?.close();
    await origin?.stop();
    await rig?.close();
    if (out) removeTempDir(out);
  });

  function loginInSecret(): string {
    const secret = store.secrets.get(`apps/${TEMP_CREDENTIALS_SECRET_NAME}`)!;
    const auths = JSON.parse(secret.data[".dockerconfigjson"]!).auths as Record<
      string,
      { username: string; password: string }
    >;
    const entry = auths[`${side.host}/${encodeHostForPath(origin.proxy.host)}/`];
    expect(entry, JSON.stringify(Object.keys(auths))).not.to.equal(undefined);
    return `${entry!.username}:${entry!.password}`;
  }

  it("resolves the origin as the instance's host and pulls with the secret's login", async () => {
    expect(services.resolver.acceleratedHosts().has(origin.proxy.host)).to.equal(true);
    expect(await services.tempCredentials!.ensureNamespace("apps")).to.equal(TEMP_CREDENTIALS_SECRET_NAME);
    const creds = loginInSecret();
    expect(creds.startsWith("cr_temp_user:")).to.equal(true);
    const res = await skopeoCopy(`${side.imagePrefix}/${image.reference}`, join(out, "first"), { creds });
    expect(res.run.code, res.run.stderr).to.equal(0);
    expect(res.image!.manifestDigest).to.equal(image.manifest.digest);
    expect(origin.tokenServer!.log.some((r) => r.user === "cr_temp_user" && r.status === 200)).to.equal(true);
  });

  // The sidecar keeps a registry token per (login, repository) for its lifetime, like the registry
  // honours it; a new repository needs a new token, which only the current password gets.
  it("keeps pulling across a renewal; the superseded password gets no new token", async () => {
    const before = loginInSecret();
    await new Promise((r) => setTimeout(r, 2300)); // past half of the 4 s lifetime
    await services.tempCredentials!.refresh();
    const after = loginInSecret();
    expect(after).not.to.equal(before);
    const fresh = await skopeoCopy(`${side.imagePrefix}/${image.reference}`, join(out, "renewed"), {
      creds: after,
    });
    expect(fresh.run.code, fresh.run.stderr).to.equal(0);
    const fresh2 = await skopeoCopy(`${side.imagePrefix}/${other.reference}`, join(out, "other"), {
      creds: after,
    });
    expect(fresh2.run.code, fresh2.run.stderr).to.equal(0);
    expect(fresh2.image!.manifestDigest).to.equal(other.manifest.digest);
    const stale = await skopeoCopy(`${side.imagePrefix}/${other.reference}`, join(out, "stale"), {
      creds: before,
    });
    expect(stale.run.code).not.to.equal(0);
    expect(stale.run.stderr).to.match(/401|unauthorized|authentication/i);
  });
});
