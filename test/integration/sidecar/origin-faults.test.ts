import { expect } from "chai";
import { setTimeout as sleep } from "node:timers/promises";
import type { PushedImage } from "../../support/images/push.ts";
import type { Origin } from "../../support/origin/origin-stack.ts";
import {
  ALICE,
  basic,
  get,
  sha256,
  startSidecarRig,
  stopSidecarRig,
  type TestSidecar,
} from "./sidecar-harness.ts";

const BLOCK = 64 * 1024;
const TRANSFER_TIMEOUT_MS = 3000; // the harness's --transfer-timeout

/** A pull that either completes (status + body) or fails mid-body (the connection was cut). */
async function tryPull(url: string): Promise<{ status: number; body?: Buffer; error?: unknown; ms: number }> {
  const started = Date.now();
  try {
    const res = await get(url, { authorization: ALICE, timeoutMs: 30_000 });
    return { status: res.status, body: res.body, ms: Date.now() - started };
  } catch (error) {
    return { status: -1, error, ms: Date.now() - started };
  }
}

describe("sidecar against a misbehaving origin", function () {
  this.timeout(120_000);
  let origin: Origin;
  let side: TestSidecar;
  let image: PushedImage;
  const blobUrl = (digest: string) => `${side.url}${side.apiPrefix}/team-a/app/blobs/${digest}`;

  before(async () => {
    ({ origin, image, side } = await startSidecarRig(
      [
        { seed: "fault-small", size: 20 * 1024 },
        { seed: "fault-big", size: 9 * BLOCK + 99 },
        { seed: "fault-stall", size: 6 * BLOCK },
        { seed: "fault-big-2", size: 9 * BLOCK + 99 },
      ],
      { sidecar: { args: ["--blocksize", "64"] } },
    ));
  });
  after(() => stopSidecarRig(side, origin));

  for (const [name, index, offset] of [
    ["a one-block blob", 0, 5000],
    ["the first block of a large blob", 1, 10],
    ["the last block of a large blob", 3, 9 * BLOCK + 50],
  ] as const) {
    it(`never completes a blob with corrupted bytes in ${name}, and recovers once the origin is fixed`, async () => {
      const layer = image.layers[index]!;
      const remove = origin.proxy.faults.add({
        digest: layer.digest,
        fault: { kind: "corrupt", offset, length: 3 },
      });
      try {
        for (let i = 0; i < 2; i++) {
          const pull = await tryPull(blobUrl(layer.digest));
          // A 200 with a full body would be a completed blob: with corrupt origin bytes there must be none.
          const complete = pull.status === 200 && pull.body!.length === layer.size;
          expect(complete, `attempt ${i}: status ${pull.status}`).to.equal(false);
        }
      } finally {
        remove();
      }
      await sleep(200); // the engine's background comparison with the origin settles
      const good = await tryPull(blobUrl(layer.digest));
      expect(good.status).to.equal(200);
      expect(sha256(good.body!)).to.equal(layer.digest);
    });
  }

  it("retries a 503 and a 429 from the origin (idempotent requests, with backoff)", async () => {
    const removers = [
      origin.proxy.faults.add({
        pathIncludes: "/manifests/v1",
        methods: ["GET"],
        times: 1,
        fault: { kind: "status", status: 503 },
      }),
      origin.proxy.faults.add({
        pathIncludes: "/blobs/",
        methods: ["HEAD"],
        times: 1,
        fault: { kind: "status", status: 429 },
      }),
    ];
    try {
      const manifest = await get(`${side.url}${side.apiPrefix}/team-a/app/manifests/v1`, {
        authorization: ALICE,
      });
      expect(manifest.status).to.equal(200);
      expect(manifest.body.equals(image.manifest.bytes)).to.equal(true);
      // A fresh credential, so the blob HEAD (the authorization proof) really goes upstream.
      const pusher = basic("pusher", "pusher-pw");
      const head = await get(blobUrl(image.config.digest), { method: "HEAD", authorization: pusher });
      expect(head.status).to.equal(200);
      expect(origin.proxy.records.filter((r) => r.status === 503 || r.status === 429)).to.have.length(2);
    } finally {
      for (const r of removers) r();
    }
  });

  it("fails a pull that stalls mid-blob within transferTimeout, then serves the next pull intact", async () => {
    const layer = image.layers[2]!;
    const remove = origin.proxy.faults.add({
      digest: layer.digest,
      times: 1,
      fault: { kind: "stall", afterBytes: 1000 },
    });
    try {
      const stalled = await tryPull(blobUrl(layer.digest));
      expect(stalled.status === 200 && stalled.body!.length === layer.size).to.equal(false);
      expect(stalled.ms).to.be.lessThan(TRANSFER_TIMEOUT_MS + 2500);
    } finally {
      remove();
    }
    const next = await tryPull(blobUrl(layer.digest));
    expect(next.status).to.equal(200);
    expect(sha256(next.body!)).to.equal(layer.digest);
    expect(next.ms).to.be.lessThan(TRANSFER_TIMEOUT_MS);
  });
});
