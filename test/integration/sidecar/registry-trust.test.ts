/**
 * A blob goes only to a credential the registry accepted for that blob in that repository, whatever
 * the sidecar has cached; a size one registry announces for a digest is no other registry's; a
 * manifest by digest is that digest. The origin has two repositories (alice pulls team-a/*, bob
 * pulls team-b/*); a second configured host lies (test/support/origin/lying-registry.ts).
 */
import { expect } from "chai";
import { encodeHostForPath } from "../../../contract/registry-host.ts";
import { pushImage, type PushedImage } from "../../support/images/push.ts";
import { startLyingRegistry, type LyingRegistry } from "../../support/origin/lying-registry.ts";
import { startOrigin, type Origin } from "../../support/origin/origin-stack.ts";
import {
  ALICE,
  basic,
  get,
  ociCodes,
  sha256,
  startTestSidecar,
  type Fetched,
  type TestSidecar,
} from "./sidecar-harness.ts";

const BOB = basic("bob", "bob-pw");

describe("sidecar: trusts a registry for what it said, and no more", function () {
  this.timeout(120_000);
  let origin: Origin | undefined;
  let side: TestSidecar | undefined;
  let liar: LyingRegistry | undefined;
  let publicA: PushedImage;
  let privateB: PushedImage;
  const url = (repo: string, what: string, host?: string) =>
    `${side!.url}/v2/${host ? encodeHostForPath(host) : side!.apiPrefix.slice(4)}/${repo}/${what}`;

  before(async () => {
    origin = await startOrigin();
    publicA = await pushImage(origin.pushClient(), {
      repo: "team-a/app",
      tag: "v1",
      layers: [{ seed: "grants-a", size: 100 * 1024 }],
    });
    privateB = await pushImage(origin.pushClient(), {
      repo: "team-b/secret",
      tag: "v1",
      layers: [{ seed: "grants-b", size: 300 * 1024 }],
    });
    liar = await startLyingRegistry({ blobSize: privateB.layers[0]!.size + 70_000 });
    side = await startTestSidecar(origin, {
      args: ["--blocksize", "64", "--upstream-host", liar.host, "--plain-http-upstream", liar.host],
    });
  });
  after(async () => {
    await side?.close();
    await origin?.stop();
    await liar?.close();
  });

  function expectUnknown(res: Fetched, method: string): void {
    expect(res.status, method).to.equal(404);
    if (method !== "HEAD") expect(ociCodes(res.body), method).to.deep.equal(["BLOB_UNKNOWN"]);
  }

  /** Alice proves team-a/app with its manifest, then asks for B's blob under A's name, three ways. */
  async function aliceReadsBThroughA(): Promise<void> {
    expect((await get(url("team-a/app", "manifests/v1"), { authorization: ALICE })).status).to.equal(200);
    const secret = url("team-a/app", `blobs/${privateB.layers[0]!.digest}`);
    expectUnknown(await get(secret, { authorization: ALICE }), "GET");
    expectUnknown(await get(secret, { authorization: ALICE, method: "HEAD" }), "HEAD");
    expectUnknown(await get(secret, { authorization: ALICE, range: "bytes=0-99" }), "Range");
  }

  it("cross-repository read: alice's GET, HEAD and Range of B's blob through A are 404, before and after bob pulls B", async () => {
    await aliceReadsBThroughA();
    const layer = privateB.layers[0]!;
    const bobs = await get(url("team-b/secret", `blobs/${layer.digest}`), { authorization: BOB });
    expect(bobs.status).to.equal(200);
    expect(sha256(bobs.body)).to.equal(layer.digest);
    // B's blob is cached and verified now (a Range is served from the cache).
    const ranged = await get(url("team-b/secret", `blobs/${layer.digest}`), {
      authorization: BOB,
      range: "bytes=0-99",
    });
    expect(ranged.status).to.equal(206);
    await aliceReadsBThroughA();
    // Alice's own blob is still hers.
    const own = await get(url("team-a/app", `blobs/${publicA.layers[0]!.digest}`), { authorization: ALICE });
    expect(sha256(own.body)).to.equal(publicA.layers[0]!.digest);
  });

  it("asks the registry once per grant: three HEADs at once cause one HEAD upstream, a repeat none", async () => {
    const layer = publicA.layers[0]!;
    // A credential that has asked for nothing yet.
    const fresh = basic("pusher", "pusher-pw");
    origin!.proxy.reset();
    const blob = url("team-a/app", `blobs/${layer.digest}`);
    const heads = await Promise.all([1, 2, 3].map(() => get(blob, { authorization: fresh, method: "HEAD" })));
    for (const h of heads) expect(Number(h.headers.get("content-length"))).to.equal(layer.size);
    expect((await get(blob, { authorization: fresh, method: "HEAD" })).status).to.equal(200);
    const upstreamHeads = origin!.proxy.records.filter(
      (r) => r.method === "HEAD" && r.digest === layer.digest,
    );
    expect(upstreamHeads.filter((r) => r.status === 200)).to.have.length(1);
  });

  it("size-cache poisoning: a second host announcing a wrong size for a digest does not break its pull from the first host", async () => {
    const layer = privateB.layers[0]!;
    const lie = await get(url("evil/app", `blobs/${layer.digest}`, liar!.host), { method: "HEAD" });
    expect(lie.status).to.equal(200);
    expect(Number(lie.headers.get("content-length"))).to.not.equal(layer.size);
    // The liar's bytes never verify: the sidecar cuts the body short (the client sees an error).
    const fromLiar = await get(url("evil/app", `blobs/${layer.digest}`, liar!.host)).catch(() => undefined);
    expect(fromLiar?.status === 200 && sha256(fromLiar.body) === layer.digest).to.equal(false);
    // Bob proves team-b/secret by its manifest first: a proven repository must not pick up the lie.
    expect((await get(url("team-b/secret", "manifests/v1"), { authorization: BOB })).status).to.equal(200);
    const head = await get(url("team-b/secret", `blobs/${layer.digest}`), {
      authorization: BOB,
      method: "HEAD",
    });
    expect(Number(head.headers.get("content-length"))).to.equal(layer.size);
    const honest = await get(url("team-b/secret", `blobs/${layer.digest}`), { authorization: BOB });
    expect(honest.status).to.equal(200);
    expect(sha256(honest.body)).to.equal(layer.digest);
  });

  it("manifest by digest: a body that does not match the digest reaches the client neither by GET nor by HEAD", async () => {
    const asked = publicA.manifest.digest;
    const path = url("evil/app", `manifests/${asked}`, liar!.host);
    const got = await get(path);
    expect(got.status).to.equal(502);
    expect(got.body.includes(liar!.manifestBody)).to.equal(false);
    expect(ociCodes(got.body)).to.deep.equal(["UPSTREAM_ERROR"]);
    // The liar's HEAD repeats the digest asked for: only the body can tell, so the sidecar reads it.
    const head = await get(path, { method: "HEAD" });
    expect(head.status).to.equal(502);
    expect(head.headers.get("docker-content-digest")).to.equal(null);
  });
});
