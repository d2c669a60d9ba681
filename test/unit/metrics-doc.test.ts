/**
 * docs/metrics.md lists every acr_p2p_* metric the sidecar and the controller register, and nothing
 * that is gone: the reference users build dashboards and alerts from stays true.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { acrP2pMetricNames } from "../support/registered-metrics.ts";

const DOC = readFileSync(new URL("../../docs/metrics.md", import.meta.url), "utf8");

describe("metrics reference (docs/metrics.md)", () => {
  const names = acrP2pMetricNames();
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
