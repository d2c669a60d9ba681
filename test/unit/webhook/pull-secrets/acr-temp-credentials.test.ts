import { expect } from "chai";
import { Registry } from "prom-client";
import { silentLogger } from "../../../../lib/logger.ts";
import { AcrTempCredentials } from "../../../../webhook/pull-secrets/acr-temp-credentials.ts";
import { CrApiError } from "../../../../webhook/cloud/cloud-errors.ts";
import { createCloudMetrics } from "../../../../webhook/cloud/cloud-metrics.ts";
import { InMemoryCrApi } from "../../../../webhook/cloud/in-memory-cr-api.ts";
import {
  InMemoryPullSecretStore,
  MANAGED_BY_LABEL,
} from "../../../../webhook/pull-secrets/pull-secret-store.ts";
import {
  renderDockerConfig,
  renewAtMs,
  TEMP_CREDENTIALS_SECRET_NAME,
} from "../../../../webhook/pull-secrets/temp-credentials.ts";

const HOUR = 3600_000;

describe("ACR temporary credentials: pure parts", () => {
  it("renews 15 minutes before expiry, or at half-life when shorter", () => {
    expect(renewAtMs(0, HOUR)).to.equal(HOUR - 15 * 60_000);
    expect(renewAtMs(0, 12 * HOUR)).to.equal(12 * HOUR - 15 * 60_000);
    expect(renewAtMs(0, 20 * 60_000)).to.equal(10 * 60_000);
    expect(renewAtMs(5000, 1000)).to.equal(1000);
  });

  it("keys the login by the rewritten prefix of every host, with a trailing slash", () => {
    const json = JSON.parse(
      renderDockerConfig(
        [{ hosts: ["b.example.com", "a.example.com:5000"], username: "cr_temp_user", password: "p@ss" }],
        "127.0.0.1:65001",
      ),
    );
    expect(Object.keys(json.auths)).to.deep.equal([
      "127.0.0.1:65001/a.example.com_5000/",
      "127.0.0.1:65001/b.example.com/",
    ]);
    expect(json.auths["127.0.0.1:65001/b.example.com/"]).to.deep.equal({
      username: "cr_temp_user",
      password: "p@ss",
      auth: Buffer.from("cr_temp_user:p@ss").toString("base64"),
    });
  });
});

function setup() {
  const api = new InMemoryCrApi();
  api.addInstance("cri-one", "one", "vpc-a");
  let now = 10 * HOUR;
  api.now = () => now;
  const store = new InMemoryPullSecretStore();
  store.namespaces.add("team-a");
  store.namespaces.add("team-b");
  const registry = new Registry();
  const temp = new AcrTempCredentials({
    instances: ["cri-one"],
    api,
    hostsOf: () => ["one-registry-vpc.cn-test.cr.aliyuncs.com"],
    rewriteAuthority: "127.0.0.1:65001",
    store,
    metrics: createCloudMetrics(registry),
    log: silentLogger(),
    now: () => now,
  });
  const password = (ns: string): string => {
    const s = store.secrets.get(`${ns}/${TEMP_CREDENTIALS_SECRET_NAME}`);
    return JSON.parse(s!.data[".dockerconfigjson"]!).auths[
      "127.0.0.1:65001/one-registry-vpc.cn-test.cr.aliyuncs.com/"
    ].password;
  };
  return { api, store, temp, password, tick: (ms: number) => (now += ms) };
}

describe("ACR temporary credentials: secrets per namespace", () => {
  it("writes one managed dockerconfigjson secret per namespace, sharing one password", async () => {
    const { api, store, temp, password } = setup();
    expect(await Promise.all([temp.ensureNamespace("team-a"), temp.ensureNamespace("team-b")])).to.deep.equal(
      [TEMP_CREDENTIALS_SECRET_NAME, TEMP_CREDENTIALS_SECRET_NAME],
    );
    expect(api.calls.filter((c) => c.startsWith("GetAuthorizationToken"))).to.have.length(1);
    const secret = store.secrets.get(`team-a/${TEMP_CREDENTIALS_SECRET_NAME}`)!;
    expect(secret.type).to.equal("kubernetes.io/dockerconfigjson");
    expect(secret.labels[MANAGED_BY_LABEL]).to.equal("acr-p2p");
    expect(password("team-a")).to.equal("temp-password-cri-one-1").and.equal(password("team-b"));
    await temp.ensureNamespace("team-a");
    expect(store.writes).to.equal(2);
  });

  it("renews before expiry and rewrites every namespace in place", async () => {
    const { api, store, temp, password, tick } = setup();
    await temp.ensureNamespace("team-a");
    await temp.ensureNamespace("team-b");
    tick(40 * 60_000);
    await temp.refresh();
    expect(api.calls.filter((c) => c.startsWith("GetAuthorizationToken"))).to.have.length(1);
    tick(6 * 60_000); // 46 min: inside the last 15 minutes of the hour
    await temp.refresh();
    expect(password("team-a")).to.equal("temp-password-cri-one-2");
    expect(password("team-b")).to.equal("temp-password-cri-one-2");
    expect(store.writes).to.equal(4);
  });

  it("keeps the current password when a renewal fails, and drops it once expired", async () => {
    const { api, temp, password, tick } = setup();
    await temp.ensureNamespace("team-a");
    api.failure = new CrApiError("CR_API_ERROR", "GetAuthorizationToken", "ServiceUnavailable", "503");
    tick(50 * 60_000);
    await temp.refresh();
    expect(password("team-a")).to.equal("temp-password-cri-one-1");
    expect(temp.readiness().detail).to.contain("last GetAuthorizationToken failed: CR_API_ERROR");
    tick(11 * 60_000);
    await temp.refresh();
    expect(temp.readiness().detail).to.contain("cri-one: no password");
    expect(await temp.ensureNamespace("team-b")).to.equal(undefined);
  });

  it("never overwrites a secret it does not manage, and forgets deleted namespaces", async () => {
    const { store, temp } = setup();
    await store.create("team-a", {
      name: TEMP_CREDENTIALS_SECRET_NAME,
      labels: {},
      type: "Opaque",
      data: { x: "user's" },
    });
    expect(await temp.ensureNamespace("team-a")).to.equal(undefined);
    expect(store.secrets.get(`team-a/${TEMP_CREDENTIALS_SECRET_NAME}`)!.data).to.deep.equal({ x: "user's" });
    expect(await temp.ensureNamespace("gone")).to.equal(undefined);
    expect(temp.readiness().detail).to.match(/1 namespace\(s\)$/);
  });
});
