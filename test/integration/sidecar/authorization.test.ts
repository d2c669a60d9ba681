import { expect } from "chai";
import { setTimeout as sleep } from "node:timers/promises";
import type { PushedImage } from "../../support/images/push.ts";
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

const BOB = basic("bob", "bob-pw");

describe("sidecar authorization per (credential, repository)", function () {
  this.timeout(120_000);
  let origin: Origin;
  let side: TestSidecar;
  let image: PushedImage;
  const url = (repo: string, what: string) => `${side.url}${side.apiPrefix}/${repo}/${what}`;

  before(async () => {
    ({ origin, image, side } = await startSidecarRig([{ seed: "auth-1", size: 300 * 1024 }], {
      origin: { lifetimeSec: 3 },
      sidecar: { args: ["--blocksize", "64"] },
    }));
    // Alice pulls the blob: it is now cached and verified.
    const first = await get(url("team-a/app", `blobs/${image.layers[0]!.digest}`), { authorization: ALICE });
    expect(sha256(first.body)).to.equal(image.layers[0]!.digest);
  });
  after(() => stopSidecarRig(side, origin));

  function expectRefused(res: { status: number; body: Buffer; headers: Headers }, status = 401): void {
    expect(res.status).to.equal(status);
    expect(res.body.length).to.be.lessThan(1000);
    if (status === 401) expect(res.headers.get("www-authenticate")).to.equal('Basic realm="acr-p2p"');
  }

  it("answers missing credentials with a Basic challenge, not the cached blob", async () => {
    const digest = image.layers[0]!.digest;
    origin.proxy.reset();
    expectRefused(await get(url("team-a/app", `blobs/${digest}`)));
    expectRefused(await get(url("team-a/app", `blobs/${digest}`), { method: "HEAD" }));
    expectRefused(await get(url("team-a/app", `blobs/${digest}`), { range: "bytes=0-99" }));
    expectRefused(await get(url("team-a/app", "manifests/v1")));
    expect(origin.proxy.blobBytes()).to.equal(0);
  });

  it("answers wrong credentials with 401, not the cached blob", async () => {
    const digest = image.layers[0]!.digest;
    const wrong = basic("alice", "not-the-password");
    expectRefused(await get(url("team-a/app", `blobs/${digest}`), { authorization: wrong }));
    expectRefused(await get(url("team-a/app", "manifests/v1"), { authorization: wrong }));
    expectRefused(await get(url("team-a/app", `blobs/${digest}`), { authorization: basic("mallory", "x") }));
    const bearer = await get(url("team-a/app", `blobs/${digest}`), { authorization: "Bearer abc" });
    expectRefused(bearer);
  });

  it("gives credentials valid for repository B nothing cached from repository A", async () => {
    const digest = image.layers[0]!.digest;
    expectRefused(await get(url("team-a/app", `blobs/${digest}`), { authorization: BOB }));
    expectRefused(
      await get(url("team-a/app", `blobs/${digest}`), { authorization: BOB, range: "bytes=0-9" }),
    );
    expectRefused(await get(url("team-a/app", "manifests/v1"), { authorization: BOB }));
    // Asking for A's blob under B's name: B does not hold it upstream, so it is unknown there.
    const viaB = await get(url("team-b/app", `blobs/${digest}`), { authorization: BOB });
    expect(viaB.status).to.equal(404);
    expect(ociCodes(viaB.body)).to.deep.equal(["BLOB_UNKNOWN"]);
  });

  it("caches tokens per credential and scope", async () => {
    const before = origin.tokenServer!.counts.get + origin.tokenServer!.counts.post;
    for (let i = 0; i < 4; i++) {
      expect((await get(url("team-a/app", "manifests/v1"), { authorization: ALICE })).status).to.equal(200);
    }
    expect(origin.tokenServer!.counts.get + origin.tokenServer!.counts.post - before).to.be.at.most(1);
  });

  it("keeps a proof only for the token's lifetime: revoked access stops the cached blob", async () => {
    const digest = image.layers[0]!.digest;
    expect((await get(url("team-a/app", `blobs/${digest}`), { authorization: ALICE })).status).to.equal(200);
    origin.tokenServer!.users.set("alice", { password: "alice-pw", grants: [] });
    try {
      await sleep(3_200);
      origin.proxy.reset();
      expectRefused(await get(url("team-a/app", `blobs/${digest}`), { authorization: ALICE }));
      expect(origin.proxy.blobBytes()).to.equal(0);
    } finally {
      origin.tokenServer!.users.set("alice", {
        password: "alice-pw",
        grants: [{ repository: "team-a/*", actions: ["pull"] }],
      });
    }
  });
});
