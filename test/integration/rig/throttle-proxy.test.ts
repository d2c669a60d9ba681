/**
 * The throttle proxy caps the total send rate (one clock for all connections), counts body bytes
 * per blob and per Range, and injects each fault it offers.
 */
import { expect } from "chai";
import { createHash } from "node:crypto";
import { request } from "undici";
import { startOrigin, type Origin } from "../../support/origin/origin-stack.ts";
import { startHostileListener } from "../../support/origin/hostile-listener.ts";
import { startThrottleProxy } from "../../support/origin/throttle-proxy.ts";
import { splitLayers } from "../../support/images/layers.ts";
import { layerBlob, pushImage, type PushedImage, type PushedLayer } from "../../support/images/push.ts";
import { RegistryClient } from "../../support/images/registry-client.ts";

const MiB = 1024 * 1024;
const sha256 = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

describe("rig: throttle proxy", function () {
  let origin: Origin;
  let image: PushedImage;
  let big: PushedLayer;
  let small: PushedLayer;
  let viaProxy: RegistryClient;

  before(async () => {
    origin = await startOrigin();
    image = await pushImage(origin.pushClient(), {
      repo: "team-a/throttle",
      tag: "v1",
      layers: [
        { seed: "throttle-big", size: 8 * MiB },
        { seed: "throttle-small", size: 256 * 1024 },
      ],
    });
    [big, small] = image.layers as [PushedLayer, PushedLayer];
    viaProxy = new RegistryClient({
      baseUrl: origin.proxy.url,
      credentials: { user: "alice", password: "alice-pw" },
    });
  });
  after(async () => {
    await viaProxy?.close();
    await origin?.stop();
  });
  afterEach(() => {
    origin.proxy.faults.clear();
    origin.proxy.limiter.bytesPerSec = null;
    origin.proxy.reset();
  });

  const blob = (layer: PushedLayer, headers: Record<string, string> = {}) =>
    viaProxy.get(image.repo, `blobs/${layer.digest}`, { headers });

  it("caps one transfer: 8 MiB at 4 MB/s takes about 2.1 s, and counts its bytes", async () => {
    await viaProxy.token(`repository:${image.repo}:pull`);
    origin.proxy.limiter.bytesPerSec = 4_000_000;
    const started = performance.now();
    const res = await viaProxy.stream(image.repo, `blobs/${big.digest}`);
    const hash = createHash("sha256");
    for await (const chunk of res.body) hash.update(chunk as Buffer);
    const seconds = (performance.now() - started) / 1000;
    expect(`sha256:${hash.digest("hex")}`).to.equal(big.digest);
    const ideal = big.size / 4_000_000;
    console.log(`      8 MiB blob at 4 MB/s: ${seconds.toFixed(2)} s (ideal ${ideal.toFixed(2)} s)`);
    expect(seconds).to.be.within(ideal * 0.95, ideal * 1.25);
    expect(origin.proxy.blobBytes(big.digest)).to.equal(big.size);
  });

  it("shares one cap across connections (4 x 2 MiB ranges at 4 MB/s take ~2.1 s, not ~0.5 s)", async () => {
    await viaProxy.token(`repository:${image.repo}:pull`);
    origin.proxy.limiter.bytesPerSec = 4_000_000;
    const quarter = Math.floor(big.size / 4);
    const started = performance.now();
    const parts = await Promise.all(
      [0, 1, 2, 3].map((i) => {
        const end = i === 3 ? big.size - 1 : (i + 1) * quarter - 1;
        return blob(big, { range: `bytes=${i * quarter}-${end}` });
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    console.log(`      4 parallel ranges, 8 MiB total at 4 MB/s: ${seconds.toFixed(2)} s`);
    expect(sha256(Buffer.concat(parts.map((p) => p.body)))).to.equal(big.digest);
    expect(seconds).to.be.within((big.size / 4_000_000) * 0.95, (big.size / 4_000_000) * 1.25);
    const ranges = origin.proxy.records.filter((r) => r.digest === big.digest).map((r) => [r.range, r.bytes]);
    expect(ranges).to.have.deep.members(
      [0, 1, 2, 3].map((i) => [
        `bytes=${i * quarter}-${i === 3 ? big.size - 1 : (i + 1) * quarter - 1}`,
        i === 3 ? big.size - 3 * quarter : quarter,
      ]),
    );
  });

  it("records method, path, status and bytes of every request", async () => {
    await blob(small, { range: "bytes=0-99" });
    await viaProxy.get(image.repo, `blobs/${small.digest}`, { method: "HEAD" });
    const records = origin.proxy.records
      .filter((r) => r.digest === small.digest)
      .map((r) => [r.method, r.path, r.range, r.status, r.bytes]);
    const path = `/v2/${image.repo}/blobs/${small.digest}`;
    expect(records).to.deep.equal([
      ["GET", path, "bytes=0-99", 206, 100],
      ["HEAD", path, null, 200, 0],
    ]);
    expect(origin.proxy.bytesByPath().get(path)).to.equal(100);
  });

  it("corrupts the chosen blob bytes at absolute offsets, also inside a Range", async () => {
    origin.proxy.faults.add({ digest: small.digest, fault: { kind: "corrupt", offset: 1000, length: 3 } });
    const truth = Buffer.concat([...layerBlob(small)]);
    const whole = await blob(small);
    expect(whole.body.length).to.equal(small.size);
    const diff = [...whole.body.keys()].filter((i) => whole.body[i] !== truth[i]);
    expect(diff).to.deep.equal([1000, 1001, 1002]);
    const part = await blob(small, { range: "bytes=900-1099" });
    const partDiff = [...part.body.keys()].filter((i) => part.body[i] !== truth[900 + i]);
    expect(partDiff).to.deep.equal([100, 101, 102]);
  });

  it("stalls after N bytes and keeps the connection open", async () => {
    origin.proxy.faults.add({ digest: small.digest, times: 1, fault: { kind: "stall", afterBytes: 10_000 } });
    const token = await viaProxy.token(`repository:${image.repo}:pull`);
    const res = await request(`${origin.proxy.url}/v2/${image.repo}/blobs/${small.digest}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    let received = 0;
    const timedOut = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(true), 1500);
      res.body.on("data", (c: Buffer) => (received += c.length));
      res.body.on("end", () => resolve(false));
      res.body.on("error", () => resolve(false));
      res.body.once("end", () => clearTimeout(timer));
    });
    res.body.destroy();
    expect(timedOut).to.equal(true);
    expect(received).to.equal(10_000);
    // The next request (times: 1) is served normally.
    expect(sha256((await blob(small)).body)).to.equal(small.digest);
  });

  it("cuts the connection after N bytes", async () => {
    origin.proxy.faults.add({ digest: small.digest, fault: { kind: "cut", afterBytes: 5000 } });
    const err = await blob(small).then(
      () => null,
      (e: Error) => e,
    );
    expect(err).to.be.instanceOf(Error);
    const rec = origin.proxy.records.find((r) => r.digest === small.digest)!;
    expect(rec.bytes).to.equal(5000);
    expect(rec.aborted).to.equal(true);
  });

  it("answers with a redirect, an error status, or after a delay, as told", async () => {
    const hostile = await startHostileListener();
    try {
      origin.proxy.faults.add({
        digest: small.digest,
        times: 1,
        fault: { kind: "redirect", location: `${hostile.url}/x` },
      });
      const redirected = await blob(small);
      expect(redirected.status).to.equal(307);
      expect(redirected.headers.location).to.equal(`${hostile.url}/x`);
      expect(hostile.connections).to.equal(0);

      origin.proxy.faults.add({ digest: small.digest, times: 1, fault: { kind: "status", status: 503 } });
      expect((await blob(small)).status).to.equal(503);

      origin.proxy.faults.add({ pathIncludes: "/manifests/", fault: { kind: "delay", ms: 300 } });
      const started = performance.now();
      const m = await viaProxy.get(image.repo, "manifests/v1", {
        headers: { accept: image.manifest.mediaType },
      });
      expect(m.status).to.equal(200);
      expect(performance.now() - started).to.be.at.least(290);
    } finally {
      await hostile.close();
    }
  });

  it("redirects to an unauthenticated blob mirror (like ACR -> object storage)", async () => {
    const mirror = await startThrottleProxy({
      target: origin.registry.url,
      host: "127.0.0.2",
      upstreamAuth: { user: "alice", password: "alice-pw" },
    });
    try {
      origin.proxy.faults.add({
        digest: small.digest,
        fault: { kind: "redirect", location: `${mirror.url}{path}` },
      });
      const redirected = await blob(small);
      expect(redirected.status).to.equal(307);
      const location = redirected.headers.location!;
      expect(location).to.equal(`${mirror.url}/v2/${image.repo}/blobs/${small.digest}`);
      const res = await request(location);
      expect(res.statusCode).to.equal(200);
      expect(sha256(Buffer.from(await res.body.arrayBuffer()))).to.equal(small.digest);
      expect(mirror.blobBytes(small.digest)).to.equal(small.size);
    } finally {
      await mirror.close();
    }
  });

  it("hostile listener records connections", async () => {
    const hostile = await startHostileListener({ respond: true });
    try {
      expect(hostile.connections).to.equal(0);
      const res = await fetch(`${hostile.url}/token`);
      expect(res.status).to.equal(200);
      expect(hostile.connections).to.equal(1);
      expect(hostile.remoteAddresses).to.deep.equal(["127.0.0.1"]);
    } finally {
      await hostile.close();
    }
  });
});
