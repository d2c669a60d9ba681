/**
 * The CR API down (connections reset) or erroring (HTTP 503): the resolver keeps the last good host
 * set, stays ready, says why in the readiness detail and counts the failures; it recovers when the
 * API is back. Down at start: not ready, with the reason.
 */
import { expect } from "chai";
import { internetDomain, vpcDomain } from "../../support/cloud/cr-emulator.ts";
import { startCloudRig, type CloudRig } from "../../support/cloud/cloud-rig.ts";
import { metricValue, startInProcess } from "../../support/cloud/in-process.ts";

describe("cloud credentials: CR API down or erroring", function () {
  this.timeout(30_000);
  let rig: CloudRig;

  before(async () => {
    rig = await startCloudRig();
  });
  afterEach(() => {
    rig.cr.server.down = false;
    rig.cr.fault = undefined;
  });
  after(() => rig.close());

  it("keeps the last good hosts while the API is unreachable, then recovers", async () => {
    const { services, registry } = await startInProcess(rig, "accessKey");
    services.stop();
    const good = [vpcDomain(rig.local), internetDomain(rig.local)].sort();
    expect([...services.resolver.acceleratedHosts()].sort()).to.deep.equal(good);

    rig.cr.server.down = true;
    await services.resolver.refresh();
    expect([...services.resolver.acceleratedHosts()].sort()).to.deep.equal(good);
    const readiness = services.resolver.readiness();
    expect(readiness.ready).to.equal(true);
    expect(readiness.detail)
      .to.contain(`${rig.local.id}: 2 host(s) kept from`)
      .and.contain("last refresh failed (CR_API_UNAVAILABLE");
    expect(
      await metricValue(registry, "acr_p2p_acr_resolve_failures_total", {
        instance: rig.local.id,
        code: "CR_API_UNAVAILABLE",
      }),
    ).to.equal(1);

    rig.cr.server.down = false;
    await services.resolver.refresh();
    expect(services.resolver.readiness().detail).to.match(/2 host\(s\) resolved \d+s ago$/);
  });

  it("keeps the last good hosts while the API answers 503, naming the API's code", async () => {
    const { services, registry } = await startInProcess(rig, "accessKey");
    services.stop();
    rig.cr.fault = { status: 503, code: "ServiceUnavailable" };
    await services.resolver.refresh();
    await services.resolver.refresh();
    expect(services.resolver.acceleratedHosts().size).to.equal(2);
    expect(services.resolver.readiness().detail).to.match(
      /last refresh failed \(CR_API_ERROR: \w+: ServiceUnavailable: code: 503/,
    );
    expect(
      await metricValue(registry, "acr_p2p_acr_resolve_failures_total", {
        instance: rig.local.id,
        code: "CR_API_ERROR",
      }),
    ).to.equal(2);
  });

  it("is not ready, and says why, when the API is down from the start", async () => {
    rig.cr.server.down = true;
    const { services } = await startInProcess(rig, "accessKey");
    services.stop();
    const readiness = services.resolver.readiness();
    expect(readiness.ready).to.equal(false);
    expect(readiness.detail).to.contain(`${rig.local.id}: not resolved yet (CR_API_UNAVAILABLE`);
    expect(services.resolver.acceleratedHosts().size).to.equal(0);
  });
});
