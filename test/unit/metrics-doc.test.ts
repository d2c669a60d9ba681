/**
 * docs/metrics.md lists every acr_p2p_* metric the sidecar and the controller register, and nothing
 * that is gone: the reference users build dashboards and alerts from stays true.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { Registry } from "prom-client";
import { SidecarMetrics } from "../../sidecar/metrics.ts";
import { PeerMetrics } from "../../sidecar/peer/peer-metrics.ts";
import { createCloudMetrics } from "../../webhook/cloud/cloud-metrics.ts";
import { WebhookMetrics } from "../../webhook/server/metrics.ts";

const DOC = readFileSync(new URL("../../docs/metrics.md", import.meta.url), "utf8");

function registered(): string[] {
  const sidecar = new SidecarMetrics({ processMetrics: false });
  new PeerMetrics(sidecar.registry, () => ({ peers: 0, quarantined: 0, connections: 0 }));
  const webhook = new WebhookMetrics({ defaultMetrics: false });
  const cloud = new Registry();
  createCloudMetrics(cloud);
  return [sidecar.registry, webhook.registry, cloud].flatMap((r) => r.getMetricsAsArray().map((m) => m.name));
}

describe("metrics reference (docs/metrics.md)", () => {
  const names = registered();
  const documented = [...DOC.matchAll(/^\| `(acr_p2p_[a-z_]+)` +\|/gm)].map((m) => m[1]!);

  it("documents every metric the processes register", () => {
    expect(names.length).to.be.above(20);
    expect(names.filter((n) => !documented.includes(n))).to.deep.equal([]);
  });

  it("documents no metric that is gone, and none twice", () => {
    expect(documented.filter((n) => !names.includes(n))).to.deep.equal([]);
    expect(new Set(documented).size).to.equal(documented.length);
  });
});
