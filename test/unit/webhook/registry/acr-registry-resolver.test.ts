import { expect } from "chai";
import { Registry } from "prom-client";
import { silentLogger } from "../../../../lib/logger.ts";
import { AcrRegistryResolver } from "../../../../webhook/registry/acr-registry-resolver.ts";
import { CloudError, CrApiError } from "../../../../webhook/cloud/cloud-errors.ts";
import { createCloudMetrics } from "../../../../webhook/cloud/cloud-metrics.ts";
import { InMemoryCrApi } from "../../../../webhook/cloud/in-memory-cr-api.ts";
import { metricValue } from "../../../support/cloud/in-process.ts";

function setup(instances = ["cri-one", "cri-two"]) {
  const api = new InMemoryCrApi();
  api.addInstance("cri-one", "one", "vpc-a");
  api.addInstance("cri-two", "two", "vpc-a");
  const registry = new Registry();
  let now = 1_000_000;
  const resolver = new AcrRegistryResolver({
    instances,
    vpcId: "vpc-a",
    api,
    refreshIntervalMs: 60_000,
    metrics: createCloudMetrics(registry),
    log: silentLogger(),
    now: () => now,
  });
  return { api, registry, resolver, tick: (ms: number) => (now += ms) };
}

describe("ACR registry resolver", () => {
  it("is not ready before the first resolution, then serves every instance's hosts", async () => {
    const { resolver } = setup();
    expect(resolver.readiness().ready).to.equal(false);
    expect(resolver.readiness().detail).to.contain("cri-one: not resolved yet");
    await resolver.refresh();
    expect([...resolver.acceleratedHosts()].sort()).to.deep.equal([
      "one-registry-vpc.cn-test.cr.aliyuncs.com",
      "one-registry.cn-test.cr.aliyuncs.com",
      "two-registry-vpc.cn-test.cr.aliyuncs.com",
      "two-registry.cn-test.cr.aliyuncs.com",
    ]);
    expect(resolver.readiness()).to.deep.equal({
      ready: true,
      detail: "ACR cri-one: 2 host(s) resolved 0s ago | cri-two: 2 host(s) resolved 0s ago",
    });
    expect(resolver.hostsOf("cri-two")).to.have.length(2);
  });

  it("keeps the last good set when the CR API fails, stays ready, says why and counts it", async () => {
    const { api, registry, resolver, tick } = setup();
    await resolver.refresh();
    const before = [...resolver.acceleratedHosts()];
    api.failure = new CrApiError(
      "CR_API_UNAVAILABLE",
      "ListInstanceEndpoint",
      "ECONNREFUSED",
      "connect ECONNREFUSED",
    );
    tick(30_000);
    await resolver.refresh();
    await resolver.refresh();
    expect([...resolver.acceleratedHosts()]).to.deep.equal(before);
    const r = resolver.readiness();
    expect(r.ready).to.equal(true);
    expect(r.detail).to.contain(
      "cri-one: 2 host(s) kept from 30s ago; last refresh failed (CR_API_UNAVAILABLE: ListInstanceEndpoint: connect ECONNREFUSED)",
    );
    expect(
      await metricValue(registry, "acr_p2p_acr_resolve_failures_total", {
        instance: "cri-one",
        code: "CR_API_UNAVAILABLE",
      }),
    ).to.equal(2);
    api.failure = undefined;
    await resolver.refresh();
    expect(resolver.readiness().detail).not.to.contain("failed");
    expect(await metricValue(registry, "acr_p2p_acr_resolved_hosts", { instance: "cri-two" })).to.equal(2);
  });

  it("stays not ready, with the reason, when the first resolution fails", async () => {
    const { api, resolver } = setup();
    api.failure = new CloudError("CREDENTIALS_UNAVAILABLE", "getting cloud credentials: STS said no");
    await resolver.start();
    resolver.stop();
    expect(resolver.readiness()).to.deep.include({ ready: false });
    expect(resolver.readiness().detail).to.contain(
      "cri-one: not resolved yet (CREDENTIALS_UNAVAILABLE: getting cloud credentials: STS said no)",
    );
    expect(resolver.acceleratedHosts().size).to.equal(0);
  });

  it("fails start on an unknown instance, naming acrInstances", async () => {
    const { resolver } = setup(["cri-one", "cri-nope"]);
    let error: unknown;
    await resolver.start().catch((e: unknown) => (error = e));
    resolver.stop();
    expect(error).to.be.instanceOf(CloudError);
    expect((error as CloudError).code).to.equal("ACR_INSTANCE_NOT_FOUND");
    expect((error as Error).message).to.match(
      /^acrInstances: ACR instance cri-nope was not found in region cn-test/,
    );
  });

  it("tells listeners when the host set changes, and only then", async () => {
    const { api, resolver } = setup(["cri-one"]);
    let changes = 0;
    resolver.onChange(() => changes++);
    await resolver.refresh();
    await resolver.refresh();
    expect(changes).to.equal(1);
    api.instances.get("cri-one")!.vpcEndpoint = { enable: false, domains: [], linkedVpcs: [] };
    await resolver.refresh();
    expect(changes).to.equal(2);
    expect([...resolver.acceleratedHosts()]).to.deep.equal(["one-registry.cn-test.cr.aliyuncs.com"]);
  });
});
