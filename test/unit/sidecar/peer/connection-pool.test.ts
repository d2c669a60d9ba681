/**
 * The peer client's connection cap: requests beyond it wait for a connection instead of opening one,
 * waiters leave on abort, a connection that closes frees its slot for the next waiter, and closing
 * the client fails whoever still waits. A probe for a cached copy does not wait behind block requests.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import { PeerClient, PROBE_CONNECTIONS } from "../../../../sidecar/peer/peer-client.ts";
import { startScriptedPeer, type Script, type ScriptedPeer } from "../../../support/peer/scripted-peer.ts";
import { peerCodeOf } from "../../../support/peer/peer-error-code.ts";

const BLOCK = randomBytes(4096);
const REQUEST = {
  host: "registry.test",
  repo: "team/app",
  digest: `sha256:${"b".repeat(64)}`,
  blobSize: BLOCK.byteLength,
  blockSize: 64 * 1024,
  index: 0,
};

function answer(socket: Socket): void {
  socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${BLOCK.byteLength}\r\n\r\n`);
  socket.write(BLOCK);
}

describe("peer client connection cap", function () {
  let peer: ScriptedPeer;
  let client: PeerClient;
  const signal = new AbortController().signal;

  async function setup(script: Script, maxConnectionsPerPeer: number) {
    peer = await startScriptedPeer(script);
    client = new PeerClient({ connectTimeoutMs: 1000, transferTimeoutMs: 2000, maxConnectionsPerPeer });
  }

  afterEach(async () => {
    await client?.close();
    await peer?.close();
  });

  it("20 requests at once to a slow peer use at most the cap of connections, and all complete", async () => {
    let busy = 0;
    let mostBusy = 0;
    await setup((socket) => {
      mostBusy = Math.max(mostBusy, ++busy);
      setTimeout(() => {
        busy--;
        answer(socket);
      }, 20);
    }, 3);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => client.fetchBlock(peer.id, REQUEST, "t", signal)),
    );
    for (const bytes of results) expect(Buffer.from(bytes).equals(BLOCK)).to.equal(true);
    expect(peer.connections).to.equal(3);
    expect(mostBusy).to.equal(3);
    expect(client.connections).to.equal(3);
  });

  it("a waiter that aborts leaves the queue and takes no connection", async () => {
    const held: Socket[] = [];
    await setup((socket, _request, n) => (n === 0 ? held.push(socket) : answer(socket)), 1);
    const first = client.fetchBlock(peer.id, REQUEST, "t", signal);
    const abort = new AbortController();
    const waiting = client.fetchBlock(peer.id, REQUEST, "t", abort.signal);
    const third = client.fetchBlock(peer.id, REQUEST, "t", signal);
    // Once the first request holds the only connection, the other two wait for it.
    while (held.length === 0) await new Promise((r) => setTimeout(r, 5));
    abort.abort();
    expect(await peerCodeOf(waiting)).to.equal("PEER_ABORTED");
    answer(held[0]!);
    expect(await peerCodeOf(first)).to.equal("OK");
    expect(await peerCodeOf(third)).to.equal("OK");
    expect(peer.connections).to.equal(1);
  });

  it("a connection the peer closes frees its slot for the next waiter", async () => {
    await setup((socket, _request, n) => {
      // The first connection's first request is dropped: its waiter-in-line gets a new connection.
      if (peer.connections === 1 && n === 0) setTimeout(() => socket.destroy(), 20);
      else answer(socket);
    }, 1);
    const first = peerCodeOf(client.fetchBlock(peer.id, REQUEST, "t", signal));
    const second = peerCodeOf(client.fetchBlock(peer.id, REQUEST, "t", signal));
    expect(await first).to.equal("PEER_PROTOCOL");
    expect(await second).to.equal("OK");
    expect(peer.connections).to.equal(2);
  });

  it("an answer that closes its connection hands the next waiter a new connection, not the closing one", async () => {
    let mostOpen = 0;
    await setup((socket) => {
      mostOpen = Math.max(mostOpen, client.connections);
      socket.write(`HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: ${BLOCK.byteLength}\r\n\r\n`);
      socket.end(BLOCK);
    }, 1);
    const results = await Promise.all(
      [0, 1, 2].map(() => peerCodeOf(client.fetchBlock(peer.id, REQUEST, "t", signal))),
    );
    expect(results).to.deep.equal(["OK", "OK", "OK"]);
    expect(peer.connections).to.equal(3);
    expect(mostOpen, "connections open at once").to.equal(1);
  });

  it(`a cached-only probe may open ${PROBE_CONNECTIONS} connections past the cap, then waits at the head of the queue`, async () => {
    const held: Socket[] = [];
    let holding = true;
    await setup((socket) => (holding ? held.push(socket) : answer(socket)), 1);
    const probe = () => peerCodeOf(client.fetchBlock(peer.id, { ...REQUEST, cachedOnly: true }, "t", signal));
    const first = peerCodeOf(client.fetchBlock(peer.id, REQUEST, "t", signal));
    const probes = Array.from({ length: PROBE_CONNECTIONS }, probe);
    while (held.length < 1 + PROBE_CONNECTIONS) await new Promise((r) => setTimeout(r, 5));
    expect(peer.connections, "the probes opened connections past the cap").to.equal(1 + PROBE_CONNECTIONS);
    // A block request queues first, then a probe: the next free connection goes to the probe.
    let blockDone = false;
    const queuedBlock = peerCodeOf(client.fetchBlock(peer.id, REQUEST, "t", signal)).then((code) => {
      blockDone = true;
      return code;
    });
    const queuedProbe = probe();
    holding = false;
    answer(held.shift()!);
    expect(await queuedProbe).to.equal("OK");
    expect(blockDone, "the block request queued before the probe").to.equal(false);
    for (const socket of held) answer(socket);
    expect(await Promise.all([first, ...probes, queuedBlock])).to.deep.equal(
      Array.from({ length: 2 + PROBE_CONNECTIONS }, () => "OK"),
    );
    expect(peer.connections).to.equal(1 + PROBE_CONNECTIONS);
  });

  it("a cached-only probe takes a free connection like any request", async () => {
    await setup(answer, 1);
    expect(
      await peerCodeOf(client.fetchBlock(peer.id, { ...REQUEST, cachedOnly: true }, "t", signal)),
    ).to.equal("OK");
  });

  it("closing the client fails the requests still waiting", async () => {
    await setup(() => {}, 1);
    const first = peerCodeOf(client.fetchBlock(peer.id, REQUEST, "t", signal));
    const waiting = peerCodeOf(client.fetchBlock(peer.id, REQUEST, "t", signal));
    await new Promise((r) => setTimeout(r, 30));
    await client.close();
    expect(await waiting).to.equal("PEER_ABORTED");
    expect(await first).to.not.equal("OK");
  });
});
