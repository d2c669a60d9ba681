/**
 * The zone simulator (bench/sim/) against real sidecars at pod bandwidth: `npm run bench -- p2p-bw`'s
 * run at a small size (N = 1 and 4, a 32 MiB image, 10 MB/s each way: a few seconds a pull, far from
 * what the machine's CPU can move), then the simulator on the same image and caps. They must agree
 * within 15% on p99 pull time and on origin bytes, the bar the scale benchmarks rest on
 * (bench/sim/calibration.ts). N=4 is where the data plane's own dynamics show: owners, connection
 * limits, probes that wait for a connection.
 */
import { expect } from "chai";
import { benchBandwidth } from "../../bench/p2p-bw.ts";
import { calibrate, CALIBRATION_TOLERANCE } from "../../bench/sim/calibration.ts";

describe("p2p-sim calibration: the simulator against real sidecars behind token buckets", function () {
  this.timeout(600_000);

  it("agrees within 15% on p99 pull time and origin bytes at N=1 and N=4", async () => {
    const options = { json: false, ns: [1, 4], imageMiB: 32, layers: 4, mbps: 10, cacheMiB: 128 };
    const run = await benchBandwidth(options);
    const rows = calibrate({ options, rows: run.rows, blobs: run.blobs });
    expect(rows.map((r) => r.n)).to.deep.equal([1, 4]);
    for (const r of rows) {
      const said = `N=${r.n}: measured p99 ${r.measuredP99Ms} ms, simulated ${r.simulatedP99Ms} ms`;
      expect(Math.abs(r.p99Error), said).to.be.at.most(CALIBRATION_TOLERANCE);
      expect(Math.abs(r.originError), `N=${r.n}: origin bytes`).to.be.at.most(CALIBRATION_TOLERANCE);
    }
  });
});
