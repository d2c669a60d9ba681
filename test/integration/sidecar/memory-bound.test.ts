/**
 * The sidecar's memory is bounded by what has arrived, in a real sidecar process: what a registry
 * announces costs nothing until its bytes come.
 */
import { expect } from "chai";
import { encodeHostForPath } from "../../../lib/registry-host.ts";
import { startLyingRegistry, type LyingRegistry } from "../../support/origin/lying-registry.ts";
import { startOrigin, type Origin } from "../../support/origin/origin-stack.ts";
import { startChildSidecar, type ChildSidecar } from "./child-sidecar.ts";
import { get, ociCodes } from "./sidecar-harness.ts";

const MiB = 1024 * 1024;

describe("sidecar process: memory bounded by what arrived", function () {
  this.timeout(120_000);
  let origin: Origin | undefined;
  let liar: LyingRegistry | undefined;
  let side: ChildSidecar | undefined;

  before(async () => {
    origin = await startOrigin();
    liar = await startLyingRegistry({ blobSize: 2 ** 44 });
    side = await startChildSidecar(origin, [
      "--upstream-host",
      liar.host,
      "--plain-http-upstream",
      liar.host,
    ]);
  });
  after(async () => {
    await side?.stop();
    await liar?.close();
    await origin?.stop();
  });

  it("announced size: a registry announcing a 2^44-byte blob gets the client a 502, the sidecar stays up and barely grows", async () => {
    const url = `${side!.url}/v2/${encodeHostForPath(liar!.host)}/evil/app/blobs/sha256:${"1".repeat(64)}`;
    // The first requests load and compile the request path and fill the young generation: measure
    // from after them.
    for (let i = 0; i < 20; i++) await get(url, { method: i % 2 ? "HEAD" : "GET" });
    const before = side!.rssBytes();
    for (let i = 0; i < 5; i++) {
      for (const method of ["GET", "HEAD"]) {
        const res = await get(url, { method });
        expect(res.status, method).to.equal(502);
        if (method === "GET") {
          expect(ociCodes(res.body)).to.deep.equal(["UPSTREAM_ERROR"]);
          expect(res.body.toString()).to.include("--max-blob-size-gb");
        }
      }
    }
    const grown = side!.rssBytes() - before;
    console.log(`      RSS grew ${(grown / MiB).toFixed(1)} MiB over 10 requests`);
    expect(grown).to.be.below(16 * MiB);
    expect((await fetch(`${side!.healthUrl}/healthz`)).status).to.equal(200);
  });
});
