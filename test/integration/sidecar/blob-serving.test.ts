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

const BLOCK = 64 * 1024;

describe("sidecar blobs: Range, HEAD, single flight, OCI errors", function () {
  this.timeout(120_000);
  let origin: Origin;
  let side: TestSidecar;
  let image: PushedImage;
  const blobUrl = (digest: string, repo = "team-a/app") =>
    `${side.url}${side.apiPrefix}/${repo}/blobs/${digest}`;
  const originGet = (
    digest: string,
    opts: { method?: "GET" | "HEAD"; headers?: Record<string, string> } = {},
  ) => origin.pushClient("alice").get("team-a/app", `blobs/${digest}`, opts);

  before(async () => {
    ({ origin, image, side } = await startSidecarRig(
      [
        { seed: "serve-1", size: 11 * BLOCK + 1234 },
        { seed: "serve-2", size: 5 * BLOCK },
        { seed: "serve-3", size: 3 * BLOCK + 7 },
      ],
      { sidecar: { args: ["--blocksize", "64"] } },
    ));
  });
  after(() => stopSidecarRig(side, origin));

  it("answers HEAD like the origin", async () => {
    const layer = image.layers[0]!;
    const ours = await get(blobUrl(layer.digest), { method: "HEAD", authorization: ALICE });
    const theirs = await originGet(layer.digest, { method: "HEAD" });
    expect(ours.status).to.equal(theirs.status).and.equal(200);
    for (const h of ["content-length", "docker-content-digest", "accept-ranges"]) {
      expect(ours.headers.get(h), h).to.equal(theirs.headers[h]);
    }
    expect(ours.body.length).to.equal(0);
  });

  it("answers Range requests like the origin, before and after the blob is verified", async () => {
    const layer = image.layers[1]!;
    const ranges = [
      "bytes=0-0",
      "bytes=100-70000",
      `bytes=${layer.size - 10}-`,
      "bytes=-300",
      `bytes=5-${layer.size + 50}`,
    ];
    const compare = async () => {
      for (const range of ranges) {
        const ours = await get(blobUrl(layer.digest), { authorization: ALICE, range });
        const theirs = await originGet(layer.digest, { headers: { range } });
        expect(ours.status, range).to.equal(theirs.status).and.equal(206);
        expect(ours.headers.get("content-range"), range).to.equal(theirs.headers["content-range"]);
        expect(ours.headers.get("content-length"), range).to.equal(theirs.headers["content-length"]);
        expect(ours.body.equals(theirs.body), range).to.equal(true);
      }
    };
    origin.proxy.reset();
    await compare(); // not verified yet: passed through to the origin
    expect(origin.proxy.records.filter((r) => r.method === "GET" && r.range !== null)).to.have.length(
      ranges.length,
    );
    const whole = await get(blobUrl(layer.digest), { authorization: ALICE });
    expect(sha256(whole.body)).to.equal(layer.digest);
    origin.proxy.reset();
    await compare(); // verified: served from the cache
    expect(origin.proxy.records.filter((r) => r.method === "GET")).to.have.length(0);
  });

  it("fetches each byte from the origin once for three concurrent pulls", async () => {
    const layer = image.layers[0]!;
    origin.proxy.reset();
    const pulls = await Promise.all(
      [1, 2, 3].map(() => get(blobUrl(layer.digest), { authorization: ALICE })),
    );
    for (const p of pulls) {
      expect(p.status).to.equal(200);
      expect(sha256(p.body)).to.equal(layer.digest);
    }
    // Origin reads come in block-aligned ranges (a streamed blob is read in segments of several
    // blocks): together they cover the blob exactly once.
    const gets = origin.proxy.records.filter((r) => r.method === "GET" && r.digest === layer.digest);
    const ranges = gets
      .map((r) => /^bytes=(\d+)-(\d+)$/.exec(r.range ?? "")!)
      .map((m) => [Number(m[1]), Number(m[2])] as const)
      .sort((a, b) => a[0] - b[0]);
    let next = 0;
    for (const [start, end] of ranges) {
      expect(start).to.equal(next);
      expect(start % BLOCK).to.equal(0);
      next = end + 1;
    }
    expect(next).to.equal(layer.size);
    expect(origin.proxy.blobBytes(layer.digest)).to.equal(layer.size);
  });

  it("serves a cached blob again without any origin GET", async () => {
    const layer = image.layers[0]!;
    origin.proxy.reset();
    const again = await get(blobUrl(layer.digest), { authorization: ALICE });
    expect(sha256(again.body)).to.equal(layer.digest);
    expect(origin.proxy.blobBytes()).to.equal(0);
  });

  it("refuses unsatisfiable ranges with 416 RANGE_INVALID", async () => {
    const layer = image.layers[2]!;
    for (const range of [`bytes=${layer.size}-`, "bytes=-0"]) {
      const res = await get(blobUrl(layer.digest), { authorization: ALICE, range });
      expect(res.status, range).to.equal(416);
      expect(ociCodes(res.body), range).to.deep.equal(["RANGE_INVALID"]);
    }
    const past = await get(blobUrl(layer.digest), { authorization: ALICE, range: `bytes=${layer.size}-` });
    expect(past.headers.get("content-range")).to.equal(`bytes */${layer.size}`);
  });

  it("refuses other hosts, traversal and malformed digests with OCI errors", async () => {
    const digest = image.layers[2]!.digest;
    const cases: [string, number, string][] = [
      [`/v2/registry.example.com/team-a/app/blobs/${digest}`, 403, "DENIED"],
      [`/v2/127.0.0.1_1/team-a/app/blobs/${digest}`, 403, "DENIED"],
      [`${side.apiPrefix}/team-a/../team-b/app/blobs/${digest}`, 400, "NAME_INVALID"],
      [`${side.apiPrefix}/team-a/%2e%2e/app/blobs/${digest}`, 400, "NAME_INVALID"],
      [`${side.apiPrefix}/team-a/app/blobs/sha256:1234`, 400, "DIGEST_INVALID"],
      [`${side.apiPrefix}/team-a/app/blobs/${digest.toUpperCase()}`, 400, "DIGEST_INVALID"],
      [`${side.apiPrefix}/team-a/app/blobs/md5:${"a".repeat(32)}`, 400, "DIGEST_INVALID"],
    ];
    for (const [path, status, code] of cases) {
      // Raw request: fetch would normalize `..` away before sending.
      const res = await rawGet(side.host, path, ALICE);
      expect(res.status, path).to.equal(status);
      expect(ociCodes(res.body), path).to.deep.equal([code]);
    }
  });
});

async function rawGet(
  host: string,
  path: string,
  authorization: string,
): Promise<{ status: number; body: Buffer }> {
  const { request } = await import("node:http");
  const [hostname, port] = host.split(":");
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port: Number(port), path, headers: { authorization } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}
