import { expect } from "chai";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { layerBlob, type PushedImage } from "../../support/images/push.ts";
import { startHostileListener, type HostileListener } from "../../support/origin/hostile-listener.ts";
import { startOrigin, type Origin } from "../../support/origin/origin-stack.ts";
import { startOriginWithImage } from "../../support/origin/origin-with-image.ts";
import {
  ALICE,
  get,
  ociCodes,
  sha256,
  startSidecarRig,
  startTestSidecar,
  stopSidecarRig,
  type TestSidecar,
} from "./sidecar-harness.ts";

/** An allowlisted "object storage" the registry redirects to: serves one blob, records what it got. */
async function startStorage(
  bytes: Buffer,
): Promise<{ server: Server; host: string; seen: IncomingHttpHeaders[] }> {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
    if (!m) return void res.writeHead(200, { "content-length": bytes.length }).end(bytes);
    const [start, end] = [Number(m[1]), Math.min(Number(m[2]), bytes.length - 1)];
    res
      .writeHead(206, {
        "content-length": end - start + 1,
        "content-range": `bytes ${start}-${end}/${bytes.length}`,
      })
      .end(bytes.subarray(start, end + 1));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, host: `127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe("sidecar redirect and token realm policy", function () {
  this.timeout(120_000);

  describe("redirects of blob GETs", () => {
    let origin: Origin;
    let side: TestSidecar;
    let image: PushedImage;
    let hostile: HostileListener;
    let storage: Awaited<ReturnType<typeof startStorage>>;
    let removeFault: (() => void) | undefined;

    before(async () => {
      ({ origin, image } = await startOriginWithImage([
        { seed: "redirect-1", size: 200 * 1024 },
        { seed: "redirect-2", size: 600 * 1024 },
      ]));
      hostile = await startHostileListener({ respond: true });
      storage = await startStorage(Buffer.concat([...layerBlob(image.layers[1]!)]));
      side = await startTestSidecar(origin, {
        args: ["--blocksize", "64", "--allow-host", storage.host],
        // Names the tests use, resolved the way a hostile DNS answer would.
        resolver: async (name) => {
          if (name === "metadata.example.com") return [{ address: "100.100.100.200", family: 4 }];
          if (name === "loopback.example.com") return [{ address: "127.0.0.1", family: 4 }];
          throw Object.assign(new Error(`no such name ${name}`), { code: "ENOTFOUND" });
        },
      });
    });
    afterEach(() => {
      removeFault?.();
      removeFault = undefined;
    });
    after(async () => {
      await side?.close();
      await hostile?.close();
      await new Promise((r) => storage?.server.close(r));
      await origin?.stop();
    });

    async function pullRedirectedTo(location: string) {
      const digest = image.layers[0]!.digest;
      removeFault = origin.proxy.faults.add({ digest, fault: { kind: "redirect", location } });
      const started = Date.now();
      const res = await get(`${side.url}${side.apiPrefix}/team-a/app/blobs/${digest}`, {
        authorization: ALICE,
      });
      return { res, ms: Date.now() - started };
    }

    it("refuses a redirect to a loopback port that is not allowlisted, without connecting", async () => {
      for (const location of [
        `http://${hostile.host}/blob`,
        `https://${hostile.host}/blob`,
        `https://loopback.example.com:${hostile.port}/b`,
      ]) {
        const { res } = await pullRedirectedTo(location);
        expect(res.status, location).to.equal(502);
        expect(ociCodes(res.body), location).to.deep.equal(["UPSTREAM_REFUSED"]);
        removeFault?.();
      }
      expect(hostile.connections).to.equal(0);
    });

    it("refuses link-local and metadata addresses before any connect attempt", async () => {
      for (const location of [
        "https://169.254.169.254/latest/meta-data/",
        "https://100.100.100.200/latest/meta-data/",
        "https://metadata.example.com/latest/meta-data/",
        "https://[fe80::1]/x",
      ]) {
        const { res, ms } = await pullRedirectedTo(location);
        expect(res.status, location).to.equal(502);
        expect(ociCodes(res.body), location).to.deep.equal(["UPSTREAM_REFUSED"]);
        // A connect attempt would wait for connectTimeout (2 s here); a refusal is immediate.
        expect(ms, location).to.be.lessThan(1000);
        removeFault?.();
      }
    });

    it("follows a redirect to an allowlisted host, without the client's Authorization, once per blob", async () => {
      const layer = image.layers[1]!;
      removeFault = origin.proxy.faults.add({
        digest: layer.digest,
        fault: { kind: "redirect", location: `http://${storage.host}/blobs/${layer.digest}` },
      });
      origin.proxy.reset();
      const res = await get(`${side.url}${side.apiPrefix}/team-a/app/blobs/${layer.digest}`, {
        authorization: ALICE,
      });
      expect(res.status).to.equal(200);
      expect(sha256(res.body)).to.equal(layer.digest);
      expect(storage.seen.length).to.be.greaterThan(0);
      for (const h of storage.seen) expect(h.authorization).to.equal(undefined);
      // The redirect target is remembered: the registry saw one GET for the blob, not one per read.
      expect(
        origin.proxy.records.filter((r) => r.method === "GET" && r.digest === layer.digest),
      ).to.have.length(1);
    });
  });

  describe("token realms", () => {
    it("refuses a realm on a loopback port that is not allowlisted, without connecting", async () => {
      const hostile = await startHostileListener({ respond: true });
      try {
        const { origin, side } = await startSidecarRig([{ seed: "realm-1", size: 1000 }], {
          origin: { realm: `http://${hostile.host}/token` },
        });
        try {
          const res = await get(`${side.url}${side.apiPrefix}/team-a/app/manifests/v1`, {
            authorization: ALICE,
          });
          expect(res.status).to.equal(502);
          expect(ociCodes(res.body)).to.deep.equal(["UPSTREAM_REFUSED"]);
          expect(hostile.connections).to.equal(0);
        } finally {
          await stopSidecarRig(side, origin);
        }
      } finally {
        await hostile.close();
      }
    });

    for (const realm of ["https://169.254.169.254/token", "https://100.100.100.200/token"]) {
      it(`refuses the realm ${realm} before any connect attempt`, async () => {
        const origin = await startOrigin({ realm });
        try {
          const side = await startTestSidecar(origin);
          try {
            const started = Date.now();
            const res = await get(`${side.url}${side.apiPrefix}/team-a/app/manifests/v1`, {
              authorization: ALICE,
            });
            expect(res.status).to.equal(502);
            expect(ociCodes(res.body)).to.deep.equal(["UPSTREAM_REFUSED"]);
            expect(Date.now() - started).to.be.lessThan(1000);
          } finally {
            await side.close();
          }
        } finally {
          await origin.stop();
        }
      });
    }
  });
});
