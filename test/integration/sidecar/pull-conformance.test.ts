/**
 * The pull half of the distribution spec where the sidecar once parted from the registry beside it:
 * each case asks the origin (as alice, directly) and the sidecar the same thing and compares.
 */
import { expect } from "chai";
import type { PushedImage } from "../../support/images/push.ts";
import { pushImage } from "../../support/images/push.ts";
import type { RegistryClient } from "../../support/images/registry-client.ts";
import type { Origin } from "../../support/origin/origin-stack.ts";
import {
  ALICE,
  basic,
  get,
  ociCodes,
  sha256,
  startSidecarRig,
  stopSidecarRig,
  type TestSidecar,
} from "./sidecar-harness.ts";

describe("sidecar: pull conformance beside the origin", function () {
  this.timeout(120_000);
  let origin: Origin | undefined;
  let side: TestSidecar | undefined;
  let image: PushedImage;
  let direct: RegistryClient;
  const url = (what: string) => `${side!.url}${side!.apiPrefix}/team-a/app/${what}`;

  before(async () => {
    ({ origin, image, side } = await startSidecarRig([{ seed: "conformance", size: 200 * 1024 }], {
      sidecar: { args: ["--blocksize", "64"] },
    }));
    await pushImage(origin.pushClient(), {
      repo: "team-a/app",
      tag: "v2",
      layers: image.layers.map((l) => l.spec),
    });
    direct = origin.pushClient("alice");
  });
  after(() => stopSidecarRig(side, origin));

  it("a manifest with a malformed tag is 404 MANIFEST_UNKNOWN, as at the origin (not 400 MANIFEST_INVALID)", async () => {
    const atOrigin = await direct.get("team-a/app", "manifests/.INVALID_MANIFEST_NAME");
    const res = await get(url("manifests/.INVALID_MANIFEST_NAME"), { authorization: ALICE });
    expect(res.status).to.equal(atOrigin.status).and.to.equal(404);
    expect(ociCodes(res.body)).to.deep.equal(["MANIFEST_UNKNOWN"]);
  });

  it("a multi-range Range is answered with the whole blob (200), not 416; a single range still with 206", async () => {
    const layer = image.layers[0]!;
    const atOrigin = await direct.get("team-a/app", `blobs/${layer.digest}`, {
      headers: { range: "bytes=0-9,20-29" },
    });
    expect([200, 206]).to.include(atOrigin.status);
    for (const warm of [false, true]) {
      const res = await get(url(`blobs/${layer.digest}`), { authorization: ALICE, range: "bytes=0-9,20-29" });
      expect(res.status, `warm ${warm}`).to.equal(200);
      expect(sha256(res.body)).to.equal(layer.digest);
    }
    const single = await get(url(`blobs/${layer.digest}`), { authorization: ALICE, range: "bytes=10-19" });
    expect(single.status).to.equal(206);
    const past = await get(url(`blobs/${layer.digest}`), {
      authorization: ALICE,
      range: `bytes=${layer.size}-`,
    });
    expect(past.status).to.equal(416);
  });

  it("tags/list passes through under the client's credential, with the spec's query parameters", async () => {
    const atOrigin = JSON.parse((await direct.get("team-a/app", "tags/list")).body.toString()) as unknown;
    const all = await get(url("tags/list"), { authorization: ALICE });
    expect(all.status).to.equal(200);
    expect(JSON.parse(all.body.toString())).to.deep.equal(atOrigin);
    expect(atOrigin).to.deep.equal({ name: "team-a/app", tags: ["v1", "v2"] });

    // The spec's query parameters reach the registry (this one does not paginate tags; the link
    // rewrite is a unit test), and nothing else does.
    origin!.proxy.reset();
    const paged = await get(url("tags/list?n=1&last=v0&x=1"), { authorization: ALICE });
    expect(paged.status).to.equal(200);
    const asked = origin!.proxy.records.filter((r) => r.path.includes("/tags/list")).map((r) => r.path);
    expect(asked).to.include("/v2/team-a/app/tags/list?n=1&last=v0");
    expect(asked.some((p) => p.includes("x=1"))).to.equal(false);

    // Bob may not pull team-a: the registry refuses him the listing too.
    const bobs = await get(url("tags/list"), { authorization: basic("bob", "bob-pw") });
    expect(bobs.status).to.equal(401);
    expect(bobs.body.toString()).to.not.include("v1");
  });

  it("referrers answers as the origin does (404 where the registry has no referrers API), not 405", async () => {
    const digest = image.manifest.digest;
    const atOrigin = await direct.get("team-a/app", `referrers/${digest}`);
    const res = await get(url(`referrers/${digest}`), { authorization: ALICE });
    expect(res.status).to.equal(atOrigin.status);
    expect(res.status).to.not.equal(405);
    if (res.status === 404) expect(ociCodes(res.body)).to.deep.equal(["NAME_UNKNOWN"]);
  });
});
