/** The cluster facts cache: bounded staleness, one fetch in flight per key, last good version kept. */
import { expect } from "chai";
import { ClusterFacts } from "../../../../webhook/kube/cluster-facts.ts";
import { KubeApiError } from "../../../../webhook/kube/kube-api.ts";
import { MemoryKubeApi } from "../../../../webhook/kube/memory-kube-api.ts";

describe("ClusterFacts", () => {
  it("reuses a namespace's labels for the TTL, then reads them again", async () => {
    let now = 1000;
    const kube = new MemoryKubeApi().addNamespace("apps", { a: "1" });
    const facts = new ClusterFacts(kube, { namespaceTtlMs: 5000, now: () => now });
    expect((await facts.namespace("apps")).labels).to.deep.equal({ a: "1" });
    kube.addNamespace("apps", { a: "2" });
    now += 4999;
    expect((await facts.namespace("apps")).labels).to.deep.equal({ a: "1" });
    now += 1;
    expect((await facts.namespace("apps")).labels).to.deep.equal({ a: "2" });
    expect(kube.calls.getNamespace).to.equal(2);
  });

  it("makes one request for concurrent lookups of a namespace", async () => {
    const kube = new MemoryKubeApi().addNamespace("apps");
    const facts = new ClusterFacts(kube);
    await Promise.all([facts.namespace("apps"), facts.namespace("apps"), facts.namespace("apps")]);
    expect(kube.calls.getNamespace).to.equal(1);
  });

  it("reports a missing namespace as existing: false, and errors as errors", async () => {
    const kube = new MemoryKubeApi();
    const facts = new ClusterFacts(kube, { namespaceTtlMs: 0 });
    expect(await facts.namespace("nope")).to.deep.equal({ exists: false, labels: {}, limitRanges: [] });
    kube.failNext("getNamespace", new KubeApiError("FORBIDDEN", "forbidden"));
    let thrown: unknown;
    await facts.namespace("nope").catch((err: unknown) => (thrown = err));
    expect(thrown).to.be.instanceOf(KubeApiError);
  });

  it("reads a namespace's LimitRanges with it; a failed LimitRange read leaves them unknown, not the namespace", async () => {
    const kube = new MemoryKubeApi().addNamespace("apps", { team: "a" }).addLimitRange("apps", {
      metadata: { name: "lr" },
      spec: { limits: [{ type: "Container", max: { memory: "1Gi" } }] },
    });
    const facts = new ClusterFacts(kube, { namespaceTtlMs: 0 });
    expect((await facts.namespace("apps")).limitRanges).to.deep.equal([
      { name: "lr", limits: [{ type: "Container", max: { memory: "1Gi" } }] },
    ]);
    kube.failNext("listLimitRanges", new KubeApiError("FORBIDDEN", "limitranges is forbidden"));
    const degraded = await facts.namespace("apps");
    expect(degraded.labels).to.deep.equal({ team: "a" });
    expect(degraded.limitRanges).to.equal(undefined);
    expect(degraded.limitRangeError).to.be.instanceOf(KubeApiError);
  });

  it("keeps the last good server version while a refresh fails", async () => {
    let now = 0;
    const kube = new MemoryKubeApi();
    const facts = new ClusterFacts(kube, { versionTtlMs: 1000, now: () => now });
    expect((await facts.serverVersion()).minor).to.equal(34);
    now = 2000;
    kube.failNext("serverVersion", new KubeApiError("UNAVAILABLE", "down"));
    expect((await facts.serverVersion()).minor).to.equal(34);
    expect(kube.calls.serverVersion).to.equal(2);
  });

  it("throws when the version was never read", async () => {
    const kube = new MemoryKubeApi();
    kube.failNext("serverVersion", new KubeApiError("UNAVAILABLE", "down"));
    let thrown: unknown;
    await new ClusterFacts(kube).serverVersion().catch((err: unknown) => (thrown = err));
    expect(thrown).to.be.instanceOf(KubeApiError);
  });
});
