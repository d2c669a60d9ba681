/**
 * The peer client's own HTTP/1.1 reading against raw sockets that answer byte for byte as a test
 * scripts them: heads split anywhere, bodies in odd pieces, lies about lengths, stale keep-alive
 * connections, silence, and aborts. Every outcome is either the exact block or a PeerError whose code
 * says whose fault it was.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import { BlockPool } from "../../../../sidecar/buffers/block-pool.ts";
import { PeerClient } from "../../../../sidecar/peer/peer-client.ts";
import { bindAddress } from "../../../../sidecar/peer/peer-connection.ts";
import { PeerError } from "../../../../sidecar/peer/peer-error.ts";
import type { PeerBlockRequest } from "../../../../sidecar/peer/peer-protocol.ts";
import { startUnacceptingListener } from "../../../support/peer/unaccepting-listener.ts";
import { startScriptedPeer, type Script, type ScriptedPeer } from "../../../support/peer/scripted-peer.ts";

const BLOCK = randomBytes(100_000);
const REQUEST: PeerBlockRequest = {
  host: "registry.test",
  repo: "team/app",
  digest: `sha256:${"a".repeat(64)}`,
  blobSize: BLOCK.byteLength,
  blockSize: 128 * 1024,
  index: 0,
};

function head(status: number, headers: Record<string, string | number>): string {
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
  return `HTTP/1.1 ${status} X\r\n${lines.join("")}\r\n`;
}

/** A correct answer with the whole block, in one write. */
function answer(socket: Socket, body: Buffer = BLOCK): void {
  socket.write(Buffer.concat([Buffer.from(head(200, { "content-length": body.byteLength })), body]));
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits (up to 1 s, half the idle timeout of setup) for the client to have no connection left open. */
async function connectionsDrop(client: PeerClient): Promise<void> {
  for (let waited = 0; client.connections > 0 && waited < 1000; waited += 10) await delay(10);
  expect(client.connections, "connections still open").to.equal(0);
}

async function outcome(p: Promise<Uint8Array>): Promise<{ code: string; message: string; bytes?: Buffer }> {
  try {
    return { code: "OK", message: "", bytes: Buffer.from(await p) };
  } catch (err) {
    if (err instanceof PeerError) return { code: err.peerCode, message: err.message };
    throw err;
  }
}

describe("peer client HTTP reading", function () {
  const peers: ScriptedPeer[] = [];
  const clients: PeerClient[] = [];
  const signal = new AbortController().signal;

  async function setup(script: Script, transferTimeoutMs = 2000, host?: string) {
    const peer = await startScriptedPeer(script, host);
    peers.push(peer);
    const client = new PeerClient({ connectTimeoutMs: 1000, transferTimeoutMs });
    clients.push(client);
    return { peer, client, get: (s = signal) => outcome(client.fetchBlock(peer.id, REQUEST, "t.k.s", s)) };
  }

  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    for (const p of peers.splice(0)) await p.close();
  });

  it("sends the block path and the ticket, and reads a whole answer", async () => {
    let seen = "";
    const { get } = await setup((socket, request) => {
      seen = request;
      answer(socket);
    });
    const r = await get();
    expect(r.code).to.equal("OK");
    expect(r.bytes!.equals(BLOCK)).to.equal(true);
    expect(seen).to.match(
      new RegExp(
        `^GET /v1/blocks/sha256:a{64}/0\\?host=registry.test&repo=team%2Fapp&size=100000&bs=131072 HTTP/1.1\r\n`,
      ),
    );
    expect(seen).to.include("\r\nauthorization: P2P-Ticket t.k.s");
  });

  it("refuses a block index outside the blob with PEER_BAD_REQUEST (not a RangeError), asking no peer", async () => {
    let asked = 0;
    const { peer, client } = await setup((socket) => {
      asked++;
      answer(socket);
    });
    for (const bad of [
      { ...REQUEST, index: 1 },
      { ...REQUEST, index: 5 },
      { ...REQUEST, index: -1 },
      { ...REQUEST, index: 0.5 },
      { ...REQUEST, blobSize: 0 },
    ]) {
      const r = await outcome(client.fetchBlock(peer.id, bad, "t.k.s", signal));
      expect(r.code, JSON.stringify(bad)).to.equal("PEER_BAD_REQUEST");
      expect(r.message).to.include(`outside blob ${REQUEST.digest}`);
    }
    expect(asked).to.equal(0);
  });

  it("reaches a peer listed by an IPv6 address", async () => {
    const { peer, get } = await setup((socket) => answer(socket), 2000, "::1");
    expect(peer.id).to.match(/^\[::1\]:\d+$/);
    const r = await get();
    expect(r.code).to.equal("OK");
    expect(r.bytes!.equals(BLOCK)).to.equal(true);
  });

  it("reads a head split byte by byte and a body in odd pieces", async () => {
    const { get } = await setup((socket) => {
      void (async () => {
        for (const ch of head(200, { "content-length": BLOCK.byteLength })) {
          socket.write(ch);
          await delay(1);
        }
        for (let at = 0; at < BLOCK.byteLength; at += 7_777) {
          socket.write(BLOCK.subarray(at, at + 7_777));
          await delay(1);
        }
      })();
    });
    const r = await get();
    expect(r.code).to.equal("OK");
    expect(r.bytes!.equals(BLOCK)).to.equal(true);
  });

  it("keeps the connection for the next request", async () => {
    const { peer, client, get } = await setup((socket) => answer(socket));
    for (let i = 0; i < 3; i++) expect((await get()).code).to.equal("OK");
    expect(peer.connections).to.equal(1);
    expect(client.connections).to.equal(1);
  });

  for (const [what, bytes, pattern] of [
    [
      "a shorter length",
      head(200, { "content-length": 10 }) + "0123456789",
      /announced 10 bytes for a block of 100000/,
    ],
    ["no length", head(200, {}) + "x", /announced no bytes/],
    ["chunked transfer coding", head(200, { "transfer-encoding": "chunked" }), /transfer-encoding "chunked"/],
    ["a bad status line", "HTTP/2 200\r\n\r\n", /bad status line/],
    ["a bad header line", "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", /bad header line/],
    [
      "conflicting lengths",
      "HTTP/1.1 200 OK\r\ncontent-length: 100000\r\ncontent-length: 5\r\n\r\n",
      /conflicting/,
    ],
    [
      "a head over 8 KiB",
      "HTTP/1.1 200 OK\r\n" + "x-pad: " + "p".repeat(9000) + "\r\n\r\n",
      /head over 8192 bytes/,
    ],
  ] as const) {
    it(`an answer with ${what} is a protocol error`, async () => {
      const { get } = await setup((socket) => socket.write(bytes));
      const r = await get();
      expect(r.code).to.equal("PEER_PROTOCOL");
      expect(r.message).to.match(pattern);
    });
  }

  it("bytes beyond a block's body are never part of it, and the connection is dropped", async () => {
    const { client, get } = await setup((socket) =>
      socket.write(
        Buffer.concat([
          Buffer.from(head(200, { "content-length": BLOCK.byteLength })),
          BLOCK,
          Buffer.from("trailing"),
        ]),
      ),
    );
    const r = await get();
    expect(r.code).to.equal("OK");
    expect(r.bytes!.equals(BLOCK)).to.equal(true);
    await connectionsDrop(client);
  });

  it("a small block's answer with more bytes than announced is refused", async () => {
    const small = { ...REQUEST, blobSize: 100 };
    const { peer, client } = await setup((socket) =>
      socket.write(head(200, { "content-length": 100 }) + "x".repeat(101)),
    );
    const r = await outcome(client.fetchBlock(peer.id, small, "t", signal));
    expect(r.code).to.equal("PEER_PROTOCOL");
    expect(r.message).to.match(/sent more than 100 bytes/);
  });

  for (const [status, code] of [
    [401, "PEER_REFUSED"],
    [404, "PEER_UNAVAILABLE"],
    [502, "PEER_ORIGIN_FAILED"],
    [503, "PEER_BUSY"],
    [418, "PEER_PROTOCOL"],
  ] as const) {
    it(`status ${status} is ${code}, with the peer's code in the message, and the connection is kept`, async () => {
      const body = JSON.stringify({ code: `CODE_${status}` });
      const { peer, get } = await setup((socket, _r, n) =>
        n === 0 ? socket.write(head(status, { "content-length": body.length }) + body) : answer(socket),
      );
      const r = await get();
      expect(r.code).to.equal(code);
      expect(r.message).to.include(`answered ${status} {"code":"CODE_${status}"}`);
      expect((await get()).code).to.equal("OK");
      expect(peer.connections).to.equal(1);
    });
  }

  it("a failed exchange gives its block buffer back to the pool; the next block reuses it, intact", async () => {
    const pool = new BlockPool({ blockBytes: BLOCK.byteLength, maxFree: 4 });
    let requests = 0;
    const peer = await startScriptedPeer((socket) => {
      const n = requests++;
      if (n === 0) socket.write(head(404, { "content-length": 2 }) + "{}");
      else if (n === 1) {
        socket.write(head(200, { "content-length": BLOCK.byteLength }));
        socket.end(BLOCK.subarray(0, 5000));
      } else answer(socket);
    });
    peers.push(peer);
    const client = new PeerClient({ connectTimeoutMs: 1000, transferTimeoutMs: 2000, buffers: pool });
    clients.push(client);
    const get = () => outcome(client.fetchBlock(peer.id, REQUEST, "t.k.s", signal));
    expect((await get()).code).to.equal("PEER_UNAVAILABLE");
    expect(pool.stats()).to.deep.include({ allocated: 1, free: 1 });
    expect((await get()).code).to.equal("PEER_PROTOCOL");
    expect(pool.stats()).to.deep.include({ allocated: 1, reused: 1, free: 1 });
    const ok = await client.fetchBlock(peer.id, REQUEST, "t.k.s", signal);
    expect(Buffer.from(ok).equals(BLOCK)).to.equal(true);
    expect(pool.stats()).to.deep.equal({ allocated: 1, reused: 2, free: 0 });
  });

  it("an error answer that runs to the end of the connection is read up to the close", async () => {
    const { get } = await setup((socket) =>
      socket.end("HTTP/1.1 503 Busy\r\nconnection: close\r\n\r\nslow down"),
    );
    const r = await get();
    expect(r.code).to.equal("PEER_BUSY");
    expect(r.message).to.include("503 slow down");
  });

  it("a request on a kept connection the peer has just dropped is retried once on a new one", async () => {
    const { peer, get } = await setup((socket, _r, n) => (n === 0 ? answer(socket) : socket.destroy()));
    expect((await get()).code).to.equal("OK");
    const r = await get();
    expect(r.code).to.equal("OK");
    expect(r.bytes!.equals(BLOCK)).to.equal(true);
    expect(peer.connections).to.equal(2);
  });

  it("a new connection closed before any answer is not retried", async () => {
    const { peer, get } = await setup((socket) => socket.destroy());
    const r = await get();
    expect(r.code).to.equal("PEER_PROTOCOL");
    expect(r.message).to.match(/closed the connection before answering/);
    expect(peer.connections).to.equal(1);
  });

  it("a body cut short is a protocol error naming how much came", async () => {
    const { get } = await setup((socket) => {
      socket.write(head(200, { "content-length": BLOCK.byteLength }));
      socket.end(BLOCK.subarray(0, 5000));
    });
    const r = await get();
    expect(r.code).to.equal("PEER_PROTOCOL");
    expect(r.message).to.match(/after 5000 of 100000 bytes/);
  });

  it("a peer that stops sending mid-body times out after transferTimeout", async () => {
    const { get } = await setup((socket) => {
      socket.write(head(200, { "content-length": BLOCK.byteLength }));
      socket.write(BLOCK.subarray(0, 1000));
    }, 300);
    const started = Date.now();
    const r = await get();
    expect(r.code).to.equal("PEER_TIMEOUT");
    expect(Date.now() - started).to.be.within(250, 1500);
  });

  it("a closed port is unreachable", async () => {
    const { peer, client } = await setup(() => {});
    const id = peer.id;
    await peer.close();
    const r = await outcome(client.fetchBlock(id, REQUEST, "t", signal));
    expect(r.code).to.equal("PEER_UNREACHABLE");
    expect(r.message).to.include("ECONNREFUSED");
  });

  it("a peer that never completes the connection is unreachable after connectTimeout", async () => {
    const listener = await startUnacceptingListener();
    try {
      const client = new PeerClient({ connectTimeoutMs: 300, transferTimeoutMs: 5000 });
      clients.push(client);
      const started = Date.now();
      const r = await outcome(client.fetchBlock(listener.id, REQUEST, "t", signal));
      expect(r.code).to.equal("PEER_UNREACHABLE");
      expect(r.message).to.include("did not accept within 300 ms");
      expect(Date.now() - started).to.be.within(250, 2000);
    } finally {
      await listener.close();
    }
  });

  it("an abort mid-body rejects with PEER_ABORTED and drops the connection", async () => {
    const { client, get } = await setup((socket) => {
      socket.write(head(200, { "content-length": BLOCK.byteLength }));
      socket.write(BLOCK.subarray(0, 1000));
    });
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 50);
    const r = await get(abort.signal);
    expect(r.code).to.equal("PEER_ABORTED");
    await connectionsDrop(client);
  });

  it("reports progress as body bytes arrive", async () => {
    const { peer, client } = await setup((socket) => answer(socket));
    let progressed = 0;
    const context = { connectTimeoutMs: 1000, progress: (n: number) => (progressed += n) };
    await client.fetchBlock(peer.id, REQUEST, "t", signal, context);
    expect(progressed).to.equal(BLOCK.byteLength);
  });

  it("an idle connection the peer closes leaves the pool", async () => {
    const { client, get } = await setup((socket) => {
      answer(socket);
      setTimeout(() => socket.end(), 20);
    });
    expect((await get()).code).to.equal("OK");
    await connectionsDrop(client);
  });

  it("refuses a ticket that could break the request head", async () => {
    const { peer, client } = await setup((socket) => answer(socket));
    const r = await outcome(client.fetchBlock(peer.id, REQUEST, "t\r\nx-evil: 1", signal));
    expect(r.code).to.equal("PEER_NO_TICKET");
    expect(peer.connections).to.equal(0);
  });
});

describe("peer connection: the address it connects from", () => {
  it("the pod IP where it reaches the peer: same family, both loopback or neither", () => {
    expect(bindAddress("10.0.0.7", "10.0.0.9")).to.equal("10.0.0.7");
    expect(bindAddress("127.0.0.3", "127.0.0.5")).to.equal("127.0.0.3");
    expect(bindAddress("fd00::7", "fd00::9")).to.equal("fd00::7");
  });

  it("the system's choice where the pod IP could not reach it: another family, loopback on one side only, a name, no pod IP", () => {
    expect(bindAddress("fd00::7", "10.0.0.9")).to.equal(undefined);
    expect(bindAddress("10.0.0.7", "fd00::9")).to.equal(undefined);
    expect(bindAddress("127.0.0.1", "10.0.0.9")).to.equal(undefined);
    expect(bindAddress("10.0.0.7", "127.0.0.5")).to.equal(undefined);
    expect(bindAddress("::1", "fd00::9")).to.equal(undefined);
    expect(bindAddress("10.0.0.7", "peer-2.example")).to.equal(undefined);
    expect(bindAddress(undefined, "10.0.0.9")).to.equal(undefined);
  });
});
