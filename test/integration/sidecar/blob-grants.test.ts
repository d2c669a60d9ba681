/**
 * A blob goes only to a credential the registry accepted for that blob in that repository, whatever
 * the sidecar has cached, and a size one registry announces for a digest is no other registry's.
 * The origin has two repositories: alice pulls team-a/*, bob pulls team-b/*.
 */
import { expect } from "chai";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { encodeHostForPath } from "../../../lib/registry-host.ts";
import { pushImage, type PushedImage } from "../../support/images/push.ts";
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

describe("sidecar: blob grants per (credential, repository, digest)", function () {
  this.timeout(120_000);
  let origin: Origin | undefined;
  let side: TestSidecar | undefined;
  let hostile: Server | undefined;
  let hostileHost = "";
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
    hostile = await startSizeLiar(privateB.layers[0]!.size + 70_000);
    hostileHost = `127.0.0.1:${(hostile.address() as AddressInfo).port}`;
    side = await startTestSidecar(origin, {
      args: ["--blocksize", "64", "--upstream-host", hostileHost, "--plain-http-upstream", hostileHost],
    });
  });
  after(async () => {
    await side?.close();
    await origin?.stop();
    await new Promise((resolve) => (hostile ? hostile.close(resolve) : resolve(undefined)));
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

  it("size-cache poisoning: a second host announcing a wrong size for a digest does not break its pull from the first host", async () => {
    const layer = privateB.layers[0]!;
    const lie = await get(url("evil/app", `blobs/${layer.digest}`, hostileHost), { method: "HEAD" });
    expect(lie.status).to.equal(200);
    expect(Number(lie.headers.get("content-length"))).to.not.equal(layer.size);
    // The liar's bytes never verify: the sidecar cuts the body short (the client sees an error).
    const fromLiar = await get(url("evil/app", `blobs/${layer.digest}`, hostileHost)).catch(() => undefined);
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
});

/**
 * An anonymous registry that answers every blob HEAD with `size` bytes and every ranged GET with that
 * many zeros: a configured host lying about a digest another host serves honestly.
 */
async function startSizeLiar(size: number): Promise<Server> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://liar").pathname;
    const blob = /^\/v2\/.+\/blobs\/(sha256:[0-9a-f]{64})$/.exec(path);
    if (path === "/v2/" || !blob) {
      res.writeHead(path === "/v2/" ? 200 : 404, { "content-type": "application/json" }).end("{}");
      return;
    }
    const headers = { "docker-content-digest": blob[1]!, "content-type": "application/octet-stream" };
    if (req.method === "HEAD") {
      res.writeHead(200, { ...headers, "content-length": size }).end();
      return;
    }
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
    const start = m ? Number(m[1]) : 0;
    const end = m ? Math.min(Number(m[2]), size - 1) : size - 1;
    res
      .writeHead(m ? 206 : 200, {
        ...headers,
        "content-length": end - start + 1,
        ...(m ? { "content-range": `bytes ${start}-${end}/${size}` } : {}),
      })
      .end(Buffer.alloc(end - start + 1));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}
