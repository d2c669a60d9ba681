import { expect } from "chai";
import { once } from "node:events";
import { createServer, request, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { dropStalledReader } from "../../../../sidecar/registry/stalled-reader.ts";

const MiB = 1024 * 1024;
const BODY = 24 * MiB;

interface Watched {
  server: Server;
  port: number;
  drops: () => number;
  /** Responses backed up now, and the most ever at once. */
  backedUp: () => { now: number; most: number };
}

/** A server streaming BODY bytes per request, watched with a 1 s patience (ten of the slow reader's naps); it counts the drops. */
async function startServer(): Promise<Watched> {
  let drops = 0;
  let backedUp = 0;
  let most = 0;
  const chunk = Buffer.alloc(256 * 1024);
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-length": BODY });
    const body = Readable.from(
      (function* () {
        for (let sent = 0; sent < BODY; sent += chunk.length) yield chunk;
      })(),
    );
    const stop = dropStalledReader(res, {
      ms: 1000,
      backedUp: (delta) => {
        backedUp += delta;
        most = Math.max(most, backedUp);
      },
      dropped: () => drops++,
    });
    pipeline(body, res).then(stop, stop);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    server,
    port: (server.address() as AddressInfo).port,
    drops: () => drops,
    backedUp: () => ({ now: backedUp, most }),
  };
}

function get(port: number): Promise<IncomingMessage> {
  return new Promise((resolve, reject) =>
    request({ port, host: "127.0.0.1" }, resolve).on("error", reject).end(),
  );
}

describe("stalled readers", function () {
  this.timeout(10_000);

  it("drops a client that stops reading once its response has been backed up for the patience, counted as backed up until then", async () => {
    const { server, port, drops, backedUp } = await startServer();
    try {
      const res = await get(port);
      res.pause();
      // The client cannot see the close behind the bytes it left unread: the server counts it.
      while (drops() === 0) await new Promise((r) => setTimeout(r, 20));
      expect(drops()).to.equal(1);
      expect(backedUp()).to.deep.equal({ now: 0, most: 1 });
      res.destroy();
    } finally {
      server.close();
    }
  });

  it("keeps a slow client that reads a little every 100 ms, however backed up it looks in between", async () => {
    const { server, port, drops } = await startServer();
    try {
      const res = await get(port);
      let received = 0;
      let sinceNap = 0;
      const slowReader = new Writable({
        write(chunk: Buffer, _encoding, done) {
          received += chunk.length;
          sinceNap += chunk.length;
          if (sinceNap < 2 * MiB) return done();
          sinceNap = 0;
          setTimeout(done, 100);
        },
      });
      await pipeline(res, slowReader);
      expect(received).to.equal(BODY);
      expect(drops()).to.equal(0);
    } finally {
      server.close();
    }
  });
});
