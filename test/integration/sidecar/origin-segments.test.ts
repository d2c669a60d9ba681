/**
 * Segment reads against a real loopback server that serves one blob by Range (no auth): the upstream
 * client stack as the sidecar builds it, without the registry in the way.
 */
import { expect } from "chai";
import { createHash, randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { BlockRequest } from "../../../sidecar/blocks/index.ts";
import { HostAllowlist, TargetPolicy } from "../../../sidecar/upstream/address-policy.ts";
import { ANONYMOUS } from "../../../sidecar/upstream/client-credential.ts";
import { HttpTransport } from "../../../sidecar/upstream/http-transport.ts";
import { OriginSegments } from "../../../sidecar/upstream/origin-segments.ts";
import { RegistryClient } from "../../../sidecar/upstream/registry-client.ts";
import { RepoAuthorizer } from "../../../sidecar/upstream/repo-authorizer.ts";
import { TokenProvider } from "../../../sidecar/upstream/token-provider.ts";
import { UpstreamRegistry } from "../../../sidecar/upstream/upstream-registry.ts";

const BLOCK = 64 * 1024;
const BLOB = randomBytes(40 * BLOCK + 123);
const DIGEST = `sha256:${createHash("sha256").update(BLOB).digest("hex")}`;

describe("origin segment reads", function () {
  this.timeout(30_000);
  let server: Server;
  let host: string;
  let transport: HttpTransport;
  let upstream: UpstreamRegistry;
  const ranges: string[] = [];
  let stallNext = false;

  before(async () => {
    server = createServer((req, res) => {
      const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
      if (!m) return void res.writeHead(416).end();
      ranges.push(req.headers.range!);
      const [start, end] = [Number(m[1]), Number(m[2])];
      res.writeHead(206, {
        "content-length": end - start + 1,
        "content-range": `bytes ${start}-${end}/${BLOB.length}`,
      });
      if (stallNext) {
        stallNext = false;
        res.write(BLOB.subarray(start, start + 100)); // then nothing: a stall
        return;
      }
      res.end(BLOB.subarray(start, end + 1));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const policy = new TargetPolicy(new HostAllowlist([host]));
    transport = new HttpTransport(policy, { connectTimeoutMs: 1000, transferTimeoutMs: 2000 });
    const client = new RegistryClient(transport, policy, new TokenProvider(transport, policy), [host]);
    upstream = new UpstreamRegistry(client, new RepoAuthorizer());
  });
  after(async () => {
    await transport.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  beforeEach(() => ranges.splice(0));

  const target = () => ({ credential: ANONYMOUS, host, repo: "a/b" });
  const request = (index: number): BlockRequest => ({
    digest: DIGEST,
    blobSize: BLOB.length,
    index,
    offset: index * BLOCK,
    length: Math.min(BLOCK, BLOB.length - index * BLOCK),
  });
  const expectBlock = (bytes: Uint8Array, index: number) =>
    expect(
      Buffer.from(bytes).equals(BLOB.subarray(index * BLOCK, index * BLOCK + request(index).length)),
    ).to.equal(true);

  it("reads a streamed blob with one request per segment, whatever order blocks are asked in", async () => {
    const segments = new OriginSegments({
      blockSizeBytes: BLOCK,
      segmentBytes: 16 * BLOCK,
      leftoverBytes: 32 * BLOCK,
    });
    const signal = new AbortController().signal;
    // The first 8 blocks at once (a readahead burst), then the rest one by one.
    const first = await Promise.all(
      [0, 1, 2, 3, 4, 5, 6, 7].map((i) => segments.fetchBlock(upstream, target(), request(i), signal)),
    );
    first.forEach((b, i) => expectBlock(b, i));
    for (let i = 8; i <= 40; i++)
      expectBlock(await segments.fetchBlock(upstream, target(), request(i), signal), i);
    expect(ranges).to.deep.equal([
      `bytes=0-${16 * BLOCK - 1}`,
      `bytes=${16 * BLOCK}-${32 * BLOCK - 1}`,
      `bytes=${32 * BLOCK}-${BLOB.length - 1}`,
    ]);
    expect(segments.leftoverBytes).to.equal(0);
  });

  it("never reads a byte twice when a later block was asked for first", async () => {
    const segments = new OriginSegments({
      blockSizeBytes: BLOCK,
      segmentBytes: 16 * BLOCK,
      leftoverBytes: 32 * BLOCK,
    });
    const signal = new AbortController().signal;
    const later = segments.fetchBlock(upstream, target(), request(5), signal);
    const earlier = segments.fetchBlock(upstream, target(), request(2), signal);
    expectBlock(await later, 5);
    expectBlock(await earlier, 2);
    expect(ranges).to.deep.equal([
      `bytes=${5 * BLOCK}-${16 * BLOCK - 1}`,
      `bytes=${2 * BLOCK}-${5 * BLOCK - 1}`,
    ]);
  });

  it("bounds the blocks read ahead of any request", async () => {
    const segments = new OriginSegments({
      blockSizeBytes: BLOCK,
      segmentBytes: 16 * BLOCK,
      leftoverBytes: 4 * BLOCK,
    });
    expectBlock(await segments.fetchBlock(upstream, target(), request(0), new AbortController().signal), 0);
    await new Promise((r) => setTimeout(r, 200)); // the rest of the segment arrives with nobody asking
    expect(segments.leftoverBytes).to.equal(4 * BLOCK);
  });

  it("abandons a stalled segment when its waiters give up, so the next request reads afresh", async () => {
    const segments = new OriginSegments({
      blockSizeBytes: BLOCK,
      segmentBytes: 16 * BLOCK,
      leftoverBytes: 32 * BLOCK,
    });
    stallNext = true;
    const waiting = new AbortController();
    const stalled = segments.fetchBlock(upstream, target(), request(20), waiting.signal);
    await new Promise((r) => setTimeout(r, 200));
    waiting.abort(new Error("no progress"));
    await stalled.then(
      () => expect.fail("should have been aborted"),
      (err: Error) => expect(err.message).to.equal("no progress"),
    );
    const started = Date.now();
    expectBlock(await segments.fetchBlock(upstream, target(), request(20), new AbortController().signal), 20);
    expect(Date.now() - started).to.be.lessThan(1000);
    expect(ranges).to.have.length(2);
  });
});
