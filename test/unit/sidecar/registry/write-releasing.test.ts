import { expect } from "chai";
import { once } from "node:events";
import { createServer, type ServerResponse } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import { Readable } from "node:stream";
import { writeReleasing } from "../../../../sidecar/registry/write-releasing.ts";
import { waitUntil } from "../../../support/origin/child-process.ts";

const CHUNK = 256 * 1024;
/** Far more than loopback socket buffers take: the response must back up while the client waits. */
const CHUNKS = 256;

interface Served {
  readonly url: { port: number };
  readonly chunks: Buffer[];
  readonly released: Set<Uint8Array>;
  /** The server side of the one response, and what writeReleasing settled with. */
  response(): Promise<{ res: ServerResponse; stream: Readable; done: Promise<unknown> }>;
  /** Chunks the stream has handed to writeReleasing so far. */
  emitted(): number;
  close(): Promise<void>;
}

async function serve(): Promise<Served> {
  const chunks = Array.from({ length: CHUNKS }, (_, i) => Buffer.alloc(CHUNK, i));
  const released = new Set<Uint8Array>();
  let emitted = 0;
  let answer: (value: { res: ServerResponse; stream: Readable; done: Promise<unknown> }) => void;
  const answered = new Promise<{ res: ServerResponse; stream: Readable; done: Promise<unknown> }>(
    (resolve) => (answer = resolve),
  );
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-length": CHUNK * CHUNKS });
    const stream = Readable.from(chunks, { objectMode: false });
    stream.on("data", () => emitted++);
    const done = writeReleasing(stream, res, (chunk) => released.add(chunk)).then(
      () => "finished",
      (err: unknown) => err,
    );
    answer({ res, stream, done });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: { port: (server.address() as AddressInfo).port },
    chunks,
    released,
    response: () => answered,
    emitted: () => emitted,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A client that sends one GET and reads nothing until told to. */
async function pausedClient(port: number): Promise<Socket> {
  const socket = connect({ host: "127.0.0.1", port });
  await once(socket, "connect");
  socket.pause();
  socket.write("GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
  return socket;
}

describe("writeReleasing (block leases handed back once the socket has them)", () => {
  it("releases no chunk still queued in the response, and every chunk once all is sent", async () => {
    const served = await serve();
    try {
      const client = await pausedClient(served.url.port);
      const { res, done } = await served.response();
      await waitUntil(
        async () => res.writableNeedDrain,
        10_000,
        () => "the response never backed up",
      );
      const queued = Math.ceil(res.writableLength / CHUNK);
      const queuedChunks = served.chunks.filter((c) => !served.released.has(c));
      expect(queued, "chunks queued in the response").to.be.greaterThan(0);
      expect(served.released.size, "released while backed up").to.be.at.most(served.emitted() - queued);
      expect(queuedChunks.length).to.be.at.least(queued);
      let received = 0;
      client.on("data", (data: Buffer) => (received += data.length));
      client.resume();
      expect(await done).to.equal("finished");
      await once(client, "end");
      expect(received).to.be.greaterThan(CHUNK * CHUNKS);
      expect(served.released.size).to.equal(CHUNKS);
      expect(served.chunks.every((c) => served.released.has(c))).to.equal(true);
    } finally {
      await served.close();
    }
  });

  it("a client gone mid-body: rejects as pipeline does and destroys the stream", async () => {
    const served = await serve();
    try {
      const client = await pausedClient(served.url.port);
      const { res, stream, done } = await served.response();
      await waitUntil(
        async () => res.writableNeedDrain,
        10_000,
        () => "the response never backed up",
      );
      client.destroy();
      const err = (await done) as Error & { code?: string };
      expect(err).to.be.instanceOf(Error);
      expect(err.code).to.equal("ERR_STREAM_PREMATURE_CLOSE");
      expect(stream.destroyed).to.equal(true);
      expect(served.released.size).to.be.below(CHUNKS);
    } finally {
      await served.close();
    }
  });
});
