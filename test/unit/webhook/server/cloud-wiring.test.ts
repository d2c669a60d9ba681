/**
 * The two adapters that plug the cloud layer into the webhook: the union of resolvers, and the pull
 * secret store over the webhook's KubeApi (here its in-memory implementation, plus replaceSecret).
 */
import { expect } from "chai";
import { KubeApiError, type SecretObject } from "../../../../webhook/kube/kube-api.ts";
import { MemoryKubeApi } from "../../../../webhook/kube/memory-kube-api.ts";
import {
  StaticRegistryResolver,
  type RegistryResolver,
} from "../../../../webhook/registry/registry-resolver.ts";
import { KubePullSecretStore } from "../../../../webhook/pull-secrets/kube-pull-secret-store.ts";
import {
  PullSecretStoreError,
  writeManagedSecret,
} from "../../../../webhook/pull-secrets/pull-secret-store.ts";
import { tempCredentialsSecret } from "../../../../webhook/pull-secrets/temp-credentials.ts";
import { UnionRegistryResolver } from "../../../../webhook/registry/union-resolver.ts";

class ChangingResolver implements RegistryResolver {
  hosts: ReadonlySet<string> = new Set();
  ready = false;
  acceleratedHosts(): ReadonlySet<string> {
    return this.hosts;
  }
  readiness() {
    return { ready: this.ready, detail: this.ready ? "ACR ok" : "ACR not resolved yet" };
  }
}

describe("union of registry resolvers", () => {
  it("serves the union, rebuilt only when a part's set changes, ready when all are", () => {
    const acr = new ChangingResolver();
    const union = new UnionRegistryResolver([new StaticRegistryResolver(["registry.example.com:5000"]), acr]);
    expect([...union.acceleratedHosts()]).to.deep.equal(["registry.example.com:5000"]);
    expect(union.readiness()).to.deep.equal({
      ready: false,
      detail: "1 configured registry host(s); ACR not resolved yet",
    });
    const first = union.acceleratedHosts();
    expect(union.acceleratedHosts()).to.equal(first);
    acr.hosts = new Set(["x-registry-vpc.cn-hangzhou.cr.aliyuncs.com"]);
    acr.ready = true;
    expect([...union.acceleratedHosts()].sort()).to.deep.equal([
      "registry.example.com:5000",
      "x-registry-vpc.cn-hangzhou.cr.aliyuncs.com",
    ]);
    expect(union.readiness().ready).to.equal(true);
  });
});

describe("pull secret store over KubeApi", () => {
  function setup() {
    const api = new MemoryKubeApi();
    const replaced: string[] = [];
    const secretsApi = Object.assign(api, {
      async replaceSecret(namespace: string, secret: SecretObject): Promise<void> {
        replaced.push(`${namespace}/${secret.metadata.name}`);
        api.secrets.set(`${namespace}/${secret.metadata.name}`, secret);
      },
    });
    return { api, replaced, store: new KubePullSecretStore(secretsApi) };
  }

  it("creates, reads back and replaces with base64 data and the managed-by label", async () => {
    const { api, replaced, store } = setup();
    await writeManagedSecret(store, "team-a", tempCredentialsSecret('{"auths":{}}'));
    const stored = api.secrets.get("team-a/acr-p2p-acr-temp-credentials")!;
    expect(stored.type).to.equal("kubernetes.io/dockerconfigjson");
    expect(stored.metadata.labels?.["app.kubernetes.io/managed-by"]).to.equal("acr-p2p");
    expect(Buffer.from(stored.data![".dockerconfigjson"]!, "base64").toString()).to.equal('{"auths":{}}');
    await writeManagedSecret(store, "team-a", tempCredentialsSecret('{"auths":{"x":{}}}'));
    expect(replaced).to.deep.equal(["team-a/acr-p2p-acr-temp-credentials"]);
    expect((await store.get("team-a", "acr-p2p-acr-temp-credentials"))?.data[".dockerconfigjson"]).to.equal(
      '{"auths":{"x":{}}}',
    );
  });

  it("reports a missing namespace as NAMESPACE_NOT_FOUND", async () => {
    const { api, store } = setup();
    api.failNext(
      "createSecret",
      new KubeApiError("NOT_FOUND", 'namespaces "gone" not found', { status: 404 }),
    );
    const err = await store.create("gone", tempCredentialsSecret("{}")).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(PullSecretStoreError);
    expect((err as PullSecretStoreError).code).to.equal("NAMESPACE_NOT_FOUND");
  });
});
