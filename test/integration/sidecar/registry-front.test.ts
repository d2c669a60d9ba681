import { expect } from "chai";
import type { PushedImage } from "../../support/images/push.ts";
import type { Origin } from "../../support/origin/origin-stack.ts";
import {
  ALICE,
  get,
  ociCodes,
  sha256,
  startSidecarRig,
  stopSidecarRig,
  type TestSidecar,
} from "./sidecar-harness.ts";

describe("sidecar registry front (rig origin with token auth)", function () {
  this.timeout(120_000);
  let origin: Origin;
  let side: TestSidecar;
  let image: PushedImage;

  before(async () => {
    ({ origin, image, side } = await startSidecarRig([
      { seed: "front-1", size: 700 * 1024 },
      { seed: "front-2", size: 300 * 1024 },
    ]));
  });
  after(() => stopSidecarRig(side, origin));

  it("challenges an anonymous ping with Basic and accepts a credentialed one", async () => {
    const anon = await get(`${side.url}/v2/`);
    expect(anon.status).to.equal(401);
    expect(anon.headers.get("www-authenticate")).to.equal('Basic realm="acr-p2p"');
    expect((await get(`${side.url}/v2/`, { authorization: ALICE })).status).to.equal(200);
  });

  it("passes manifests through byte for byte, by tag and by digest, GET and HEAD", async () => {
    const byTag = await get(`${side.url}${side.apiPrefix}/team-a/app/manifests/v1`, {
      authorization: ALICE,
      accept: image.manifest.mediaType,
    });
    expect(byTag.status).to.equal(200);
    expect(byTag.body.equals(image.manifest.bytes)).to.equal(true);
    expect(byTag.headers.get("content-type")).to.equal(image.manifest.mediaType);
    expect(byTag.headers.get("docker-content-digest")).to.equal(image.manifest.digest);
    const head = await get(`${side.url}${side.apiPrefix}/team-a/app/manifests/${image.manifest.digest}`, {
      method: "HEAD",
      authorization: ALICE,
      accept: image.manifest.mediaType,
    });
    expect(head.status).to.equal(200);
    expect(head.headers.get("content-length")).to.equal(String(image.manifest.size));
    expect(head.headers.get("docker-content-digest")).to.equal(image.manifest.digest);
  });

  it("streams a blob whose sha256 matches its digest", async () => {
    const layer = image.layers[0]!;
    const res = await get(`${side.url}${side.apiPrefix}/team-a/app/blobs/${layer.digest}`, {
      authorization: ALICE,
    });
    expect(res.status).to.equal(200);
    expect(res.body.length).to.equal(layer.size);
    expect(sha256(res.body)).to.equal(layer.digest);
  });

  it("serves /healthz, /readyz and its own /metrics on the health port", async () => {
    const health = `http://${side.sidecar.healthAddress}`;
    expect((await get(`${health}/healthz`)).status).to.equal(200);
    expect((await get(`${health}/readyz`)).status).to.equal(200);
    const metrics = (await get(`${health}/metrics`)).body.toString("utf8");
    for (const name of [
      "acr_p2p_block_bytes_total",
      "acr_p2p_cache_hits_total",
      "acr_p2p_cache_misses_total",
      "acr_p2p_cache_evictions_total",
      "acr_p2p_requests_in_flight",
      "acr_p2p_errors_total",
      "acr_p2p_request_duration_seconds",
    ]) {
      expect(metrics, name).to.contain(name);
    }
    expect(metrics).to.match(/acr_p2p_block_bytes_total\{source="origin"\} [1-9]/);
    // The anonymous ping's challenge (the first test) is the protocol at work, not an error.
    expect(metrics).not.to.match(/acr_p2p_errors_total\{code="UNAUTHORIZED"\}/);
  });

  it("answers an unknown manifest with MANIFEST_UNKNOWN", async () => {
    const res = await get(`${side.url}${side.apiPrefix}/team-a/app/manifests/nope`, { authorization: ALICE });
    expect(res.status).to.equal(404);
    expect(ociCodes(res.body)).to.deep.equal(["MANIFEST_UNKNOWN"]);
  });
});
