import { expect } from "chai";
import { Writable } from "node:stream";
import { pino } from "pino";
import type { PushedImage } from "../../support/images/push.ts";
import type { Origin } from "../../support/origin/origin-stack.ts";
import { startOriginWithImage } from "../../support/origin/origin-with-image.ts";
import { basic, get, startTestSidecar, stopSidecarRig, type TestSidecar } from "./sidecar-harness.ts";

/** A stream that keeps each log line written to it. */
function linesInto(lines: string[]): Writable {
  return new Writable({
    write(chunk: Buffer, _e, cb) {
      lines.push(chunk.toString("utf8"));
      cb();
    },
  });
}

describe("sidecar logs", function () {
  this.timeout(120_000);
  let origin: Origin;
  let side: TestSidecar;
  let image: PushedImage;
  const lines: string[] = [];

  before(async () => {
    ({ origin, image } = await startOriginWithImage([{ seed: "log-1", size: 5000 }]));
    // Everything the sidecar logs, at debug level, without any redaction: the code itself must not log secrets.
    side = await startTestSidecar(origin, { logger: pino({ level: "debug" }, linesInto(lines)) });
  });
  after(() => stopSidecarRig(side, origin));

  it("never contain credentials or tokens, whatever fails", async () => {
    const good = basic("alice", "alice-pw");
    const wrong = basic("alice", "hunter2-wrong");
    await get(`${side.url}${side.apiPrefix}/team-a/app/manifests/v1`, { authorization: good });
    await get(`${side.url}${side.apiPrefix}/team-a/app/manifests/v1`, { authorization: wrong });
    await get(`${side.url}${side.apiPrefix}/team-a/app/blobs/${image.layers[0]!.digest}`, {
      authorization: wrong,
    });
    await get(`${side.url}${side.apiPrefix}/team-b/app/blobs/${image.layers[0]!.digest}`, {
      authorization: good,
    });
    await get(`${side.url}${side.apiPrefix}/team-a/app/manifests/nope`, { authorization: good });
    const text = lines.join("");
    expect(lines.length).to.be.greaterThan(0);
    for (const secret of ["alice-pw", "hunter2-wrong", good.slice(6), wrong.slice(6), "Bearer ", "eyJ"]) {
      expect(text, secret).not.to.contain(secret);
    }
  });

  it("the anonymous /v2/ ping every pull starts with is a challenge, not a warning or a counted error", async () => {
    const errors = async () =>
      (await side.sidecar.metrics.registry.getSingleMetricAsString("acr_p2p_errors_total")).trim();
    const before = await errors();
    const from = lines.length;
    const ping = await get(`${side.url}/v2/`);
    expect(ping.status).to.equal(401);
    expect(await errors()).to.equal(before);
    const logged = lines.slice(from).map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(logged.filter((l) => l.level >= 40)).to.deep.equal([]);
    // A wrong credential on a real request is still an error, counted.
    await get(`${side.url}${side.apiPrefix}/team-a/app/manifests/v1`, { authorization: basic("alice", "x") });
    expect(await errors()).to.not.equal(before);
  });

  it("a pull writes exactly one info line per blob: repository, digest, bytes, where they came from, seconds", async () => {
    const layer = image.layers[0]!;
    const url = `${side.url}${side.apiPrefix}/team-a/app/blobs/${layer.digest}`;
    const served = (from: number) =>
      lines
        .slice(from)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l["msg"] === "blob served");
    for (const expected of [{ origin: layer.size }, { cache: layer.size }]) {
      const from = lines.length;
      expect((await get(url, { authorization: basic("alice", "alice-pw") })).status).to.equal(200);
      const logged = served(from);
      expect(logged).to.have.length(1);
      expect(logged[0]).to.include({
        level: 30,
        repo: "team-a/app",
        digest: layer.digest,
        bytes: layer.size,
      });
      expect(logged[0]!["from"]).to.deep.equal(expected);
      expect(logged[0]!["seconds"]).to.be.a("number");
    }
  });
});

describe("sidecar logs: a long pull", function () {
  this.timeout(120_000);
  let origin: Origin;
  let side: TestSidecar;
  let image: PushedImage;
  const lines: string[] = [];

  before(async () => {
    // 4 MiB from a registry sending 4 MB/s: about a second, with progress every 200 ms.
    ({ origin, image } = await startOriginWithImage([{ seed: "log-long", size: 4 * 1024 * 1024 }], {
      origin: { bytesPerSec: 4_000_000 },
    }));
    side = await startTestSidecar(origin, {
      logger: pino({ level: "info" }, linesInto(lines)),
      progressLogMs: 200,
    });
  });
  after(() => stopSidecarRig(side, origin));

  it("shows progress while a blob is sent (bytes growing, where from), then the one line for the blob", async () => {
    const layer = image.layers[0]!;
    expect(
      (
        await get(`${side.url}${side.apiPrefix}/team-a/app/blobs/${layer.digest}`, {
          authorization: basic("alice", "alice-pw"),
        })
      ).status,
    ).to.equal(200);
    const logged = lines
      .map((l) => JSON.parse(l) as Record<string, any>)
      .filter((l) => l["digest"] === layer.digest);
    const progress = logged.filter((l) => l["msg"] === "blob progress");
    expect(progress.length, "progress lines").to.be.at.least(2);
    const bytes = progress.map((l) => l["bytes"] as number);
    expect(bytes).to.deep.equal([...bytes].sort((a, b) => a - b));
    for (const l of progress) {
      expect(l).to.include({ level: 30, repo: "team-a/app", size: layer.size });
      expect(l["bytes"]).to.be.at.most(layer.size);
      expect(l["percent"]).to.equal(Math.floor((100 * l["bytes"]) / layer.size));
      expect(l["from"]["origin"]).to.equal(l["bytes"]);
    }
    // The blob's one closing line comes after its progress.
    expect(logged.at(-1)?.["msg"]).to.equal("blob served");
    expect(logged.filter((l) => l["msg"] === "blob served")).to.have.length(1);
  });
});
