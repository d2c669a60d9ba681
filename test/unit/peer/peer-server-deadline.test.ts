/**
 * The peer server's answer deadline: a block it relays (fetches from a peer above it in the block's
 * tree) that is not there within answerWithinMs is answered 503 PEER_BUSY, which the requester takes
 * as nobody's fault, so an honest relay behind a silent parent is not quarantined by its children. A
 * block that comes after the answer goes back to its owner (release). A block the server reads from
 * the registry itself is waited for: the requester would only read the same block there too.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { generateTicketKey, signPeerTicket } from "../../../lib/peer-ticket.ts";
import { silentLogger } from "../../../lib/logger.ts";
import { PeerClient } from "../../../sidecar/peer/peer-client.ts";
import type { PeerBlockRequest } from "../../../sidecar/peer/peer-protocol.ts";
import { startPeerServer, type OwnerBlocks, type PeerServer } from "../../../sidecar/peer/peer-server.ts";
import { StaticPeers } from "../../../sidecar/peer/static-peers.ts";
import { peerCodeOf } from "../../support/peer/peer-error-code.ts";

const BS = 64 * 1024;
const key = generateTicketKey();
const REQUEST: PeerBlockRequest = {
  host: "registry.test",
  repo: "team/app",
  digest: `sha256:${"e".repeat(64)}`,
  blobSize: BS,
  blockSize: BS,
  index: 0,
};

/**
 * Blocks that arrive `delayMs` after they are asked for, relayed from a peer above or (relays false)
 * read from the registry; records what was given back.
 */
function slowBlocks(
  delayMs: number,
  relays = true,
): OwnerBlocks & { released: Uint8Array[]; block: Uint8Array } {
  const block = randomBytes(BS);
  const released: Uint8Array[] = [];
  return {
    block,
    released,
    get: () => new Promise((resolve) => setTimeout(() => resolve(block), delayMs)),
    release: (bytes) => released.push(bytes),
    relays: () => relays,
  };
}

describe("peer server: answer deadline for blocks it must fetch first", function () {
  let server: PeerServer | undefined;
  const client = new PeerClient({ connectTimeoutMs: 1000, transferTimeoutMs: 5000 });
  const ticket = signPeerTicket(key, { group: "team", subject: "test", ttlSeconds: 60 });

  async function serve(blocks: OwnerBlocks, answerWithinMs: number): Promise<string> {
    const view = new StaticPeers({ peers: [], group: "team", self: "127.0.0.70:1", key });
    server = await startPeerServer({
      host: "127.0.0.70",
      port: 0,
      view,
      blocks,
      blockSize: BS,
      maxInFlight: 16,
      answerWithinMs,
      logger: silentLogger(),
    });
    return `127.0.0.70:${server.address.port}`;
  }

  afterEach(async () => {
    await server?.close();
  });
  after(() => client.close());

  it("a block later than the deadline is answered 503 PEER_BUSY, and its buffer is released when it comes", async () => {
    const blocks = slowBlocks(400);
    const peer = await serve(blocks, 50);
    const started = performance.now();
    const code = await peerCodeOf(client.fetchBlock(peer, REQUEST, ticket, new AbortController().signal));
    expect(code).to.equal("PEER_BUSY");
    expect(performance.now() - started).to.be.below(400);
    for (let i = 0; i < 100 && blocks.released.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(blocks.released).to.deep.equal([blocks.block]);
  });

  it("a block read from the registry (not relayed) is waited for past the deadline", async () => {
    const blocks = slowBlocks(300, false);
    const peer = await serve(blocks, 50);
    const bytes = await client.fetchBlock(peer, REQUEST, ticket, new AbortController().signal);
    expect(Buffer.from(bytes).equals(blocks.block)).to.equal(true);
  });

  it("a block within the deadline is served as usual", async () => {
    const blocks = slowBlocks(10);
    const peer = await serve(blocks, 2000);
    const bytes = await client.fetchBlock(peer, REQUEST, ticket, new AbortController().signal);
    expect(Buffer.from(bytes).equals(blocks.block)).to.equal(true);
  });
});
