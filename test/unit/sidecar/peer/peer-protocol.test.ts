/**
 * The peer server and the peer source over real loopback sockets (127.0.0.x): owners serve their
 * blocks, tickets are enforced, and every kind of faulty peer is skipped, quarantined and survived.
 */
import { expect } from "chai";
import { createHash, randomBytes } from "node:crypto";
import { request } from "undici";
import { generateTicketKey, signPeerTicket } from "../../../../contract/peer-ticket.ts";
import { silentLogger } from "../../../../lib/logger.ts";
import { MemoryOwnerBlocks } from "../../../../sidecar/peer/memory-owner-blocks.ts";
import { PeerClient } from "../../../../sidecar/peer/peer-client.ts";
import { PeerError } from "../../../../sidecar/peer/peer-error.ts";
import { formatBlockPath } from "../../../../sidecar/peer/peer-protocol.ts";
import { startPeerServer, type PeerServer } from "../../../../sidecar/peer/peer-server.ts";
import {
  CACHED_PROBES,
  PeerBlockSource,
  peerCandidates,
  quarantineLiar,
} from "../../../../sidecar/peer/peer-source.ts";
import type { BlockRequest, BlockSource } from "../../../../sidecar/blocks/index.ts";
import { TransferTimeoutError } from "../../../../sidecar/blocks/index.ts";
import { attemptFetch } from "../../../../sidecar/blocks/fetch-attempt.ts";
import { Quarantine } from "../../../../sidecar/peer/quarantine.ts";
import { rankPeers } from "../../../../sidecar/peer/rendezvous.ts";
import { StaticPeers } from "../../../../sidecar/peer/static-peers.ts";
import { AskingPeers } from "../../../../sidecar/peer/asking-peers.ts";
import { waitUntil } from "../../../support/origin/child-process.ts";
import { startFaultyPeer, type FaultyPeer } from "../../../support/peer/faulty-peer.ts";
import { peerCodeOf } from "../../../support/peer/peer-error-code.ts";

const HOST = "registry.test_5000";
const REPO = "team/app";
const BS = 64 * 1024;
const blob = randomBytes(BS * 10 + 1234);
const digest = "sha256:" + createHash("sha256").update(blob).digest("hex");
const key = generateTicketKey();

interface Node {
  owner: MemoryOwnerBlocks;
  view: StaticPeers;
  server: PeerServer;
  id: string;
}

async function startNode(ip: string, withBlob = true): Promise<Node> {
  const owner = new MemoryOwnerBlocks();
  if (withBlob) owner.add("registry.test:5000", REPO, digest, blob);
  const view = new StaticPeers({ peers: [], group: "team", self: ip, key });
  const server = await startPeerServer({
    host: ip,
    port: 0,
    view,
    blocks: owner,
    blockSize: BS,
    maxInFlight: 16,
    logger: silentLogger(),
  });
  return { owner, view, server, id: `${ip}:${server.address.port}` };
}

/**
 * What the engine does with a candidate list, reduced to its essence: try each source in order and
 * take the first block delivered (the engine adds the registry last; here "none" stands for it).
 */
class FirstOf {
  readonly #candidates: (r: BlockRequest) => BlockSource[];
  lastSource: BlockSource | undefined;
  constructor(candidates: (r: BlockRequest) => BlockSource[]) {
    this.#candidates = candidates;
  }
  async fetchBlock(request: BlockRequest, signal: AbortSignal): Promise<Uint8Array> {
    let last: unknown = new PeerError("PEER_UNAVAILABLE", "no candidates");
    for (const source of this.#candidates(request)) {
      try {
        const bytes = await source.fetchBlock(request, signal);
        this.lastSource = source;
        return bytes;
      } catch (err) {
        if (signal.aborted) throw err;
        last = err;
      }
    }
    throw last;
  }
}

function sourceFor(view: StaticPeers, self: string, transferTimeoutMs = 400) {
  const quarantine = new Quarantine({ baseMs: 60_000, maxMs: 60_000 });
  const client = new PeerClient({ connectTimeoutMs: 500, transferTimeoutMs });
  const ctx = {
    view,
    client,
    quarantine,
    self,
    blockSize: BS,
    maxCandidates: 2,
    cachedProbeTimeoutMs: 200,
    slowProbes: new Quarantine({ baseMs: 60_000, maxMs: 60_000 }),
  };
  const candidates = peerCandidates(ctx, "registry.test:5000", REPO);
  return { source: new FirstOf(candidates), candidates, quarantine, client, ctx };
}

function block(index: number) {
  return blockIn(blob, digest, index);
}

function blockIn(bytes: Buffer, blobDigest: string, index: number) {
  const offset = index * BS;
  const length = Math.min(BS, bytes.byteLength - offset);
  return { digest: blobDigest, blobSize: bytes.byteLength, index, offset, length };
}

/**
 * The first of a fixed sequence of 4-block blobs in which `owner` ranks first (against `other`) for at
 * least two blocks: about every second blob qualifies, so the search ends within a few steps.
 */
function blobWithTwoBlocksOwnedBy(owner: string, other: string) {
  for (let n = 0; ; n++) {
    const bytes = Buffer.concat(
      [0, 1, 2, 3].map((i) => Buffer.alloc(BS, createHash("sha256").update(`blob ${n} block ${i}`).digest())),
    );
    const blobDigest = "sha256:" + createHash("sha256").update(bytes).digest("hex");
    const indices = [0, 1, 2, 3].filter((i) => rankPeers(blobDigest, i, [owner, other])[0] === owner);
    if (indices.length >= 2) return { bytes, digest: blobDigest, indices };
  }
}

describe("peer protocol over loopback", function () {
  this.timeout(20_000);
  let nodes: Node[] = [];
  const extras: FaultyPeer[] = [];

  before(async () => {
    nodes = await Promise.all(["127.0.0.2", "127.0.0.3", "127.0.0.4"].map((ip) => startNode(ip)));
    const ids = nodes.map((n) => n.id);
    for (const n of nodes) n.view.setPeers(ids);
  });
  after(async () => {
    await Promise.all([...nodes.map((n) => n.server.close()), ...extras.map((e) => e.close())]);
  });

  it("a requester gets every block from its owner, and owns the rest itself (asking the next peer only for a held copy)", async () => {
    const requester = nodes[0] as Node;
    const { source, candidates, client } = sourceFor(requester.view, requester.id);
    const out = Buffer.alloc(blob.byteLength);
    let selfOwned = 0;
    for (let i = 0; i * BS < blob.byteLength; i++) {
      const [owner, ...rest] = rankPeers(digest, i, requester.view.current().peers);
      if (owner === requester.id) {
        // Only the peers ranked next, for a copy they hold, before the registry.
        expect(candidates(block(i)).map((c) => c.id)).to.deep.equal(
          rest.slice(0, CACHED_PROBES).map((p) => `peer ${p} (cached)`),
        );
        selfOwned++;
        blob.copy(out, i * BS, i * BS, i * BS + block(i).length);
        continue;
      }
      out.set(await source.fetchBlock(block(i), new AbortController().signal), i * BS);
    }
    await client.close();
    expect(out.equals(blob)).to.equal(true);
    const served = nodes.reduce((n, x) => n + x.owner.served, 0);
    expect(served + selfOwned).to.equal(11);
    expect(requester.owner.served).to.equal(0);
  });

  it("refuses requests without a valid ticket of its group", async () => {
    const target = nodes[1] as Node;
    const path = formatBlockPath({
      host: "registry.test:5000",
      repo: REPO,
      digest,
      blobSize: blob.byteLength,
      blockSize: BS,
      index: 0,
    });
    const url = `http://${target.id}${path}`;
    const now = Math.floor(Date.now() / 1000);
    const tickets: Record<string, string | undefined> = {
      TICKET_MISSING: undefined,
      TICKET_EXPIRED: signPeerTicket(key, { group: "team", subject: "x", ttlSeconds: 60, now: now - 120 }),
      TICKET_UNKNOWN_KEY: signPeerTicket(generateTicketKey(), {
        group: "team",
        subject: "x",
        ttlSeconds: 60,
      }),
      TICKET_WRONG_GROUP: signPeerTicket(key, { group: "other-team", subject: "x", ttlSeconds: 60 }),
      TICKET_MALFORMED: "p2pt1.not.valid",
    };
    const before = target.owner.served;
    for (const [code, ticket] of Object.entries(tickets)) {
      const headers = ticket === undefined ? {} : { authorization: `P2P-Ticket ${ticket}` };
      const res = await request(url, { headers });
      expect(res.statusCode, code).to.equal(401);
      expect(await res.body.json()).to.deep.equal({ code });
    }
    expect(target.owner.served).to.equal(before);
    const ok = await request(url, {
      headers: { authorization: `P2P-Ticket ${target.view.current().ticket}` },
    });
    expect(ok.statusCode).to.equal(200);
    expect(Buffer.from(await ok.body.arrayBuffer()).equals(blob.subarray(0, BS))).to.equal(true);
  });

  it("a block of a sha512 digest is 400 BAD_REQUEST, not a 502 from deep inside", async () => {
    const target = nodes[1] as Node;
    const path = formatBlockPath({
      host: "registry.test:5000",
      repo: REPO,
      digest: `sha512:${"a".repeat(128)}`,
      blobSize: 1000,
      blockSize: BS,
      index: 0,
    });
    const res = await request(`http://${target.id}${path}`, {
      headers: { authorization: `P2P-Ticket ${target.view.current().ticket}` },
    });
    expect(res.statusCode).to.equal(400);
    expect(await res.body.json()).to.deep.equal({ code: "BAD_REQUEST" });
  });

  it("an owner without the blob (no credential for the repository) sends the requester to the next candidate", async () => {
    const empty = await startNode("127.0.0.5", false);
    try {
      const view = new StaticPeers({
        peers: [empty.id, (nodes[1] as Node).id],
        group: "team",
        self: "127.0.0.9:1",
        key,
      });
      const { source, client, quarantine } = sourceFor(view, "127.0.0.9:1");
      for (let i = 0; i < 6; i++) {
        expect(
          Buffer.from(await source.fetchBlock(block(i), new AbortController().signal)).equals(
            blob.subarray(i * BS, i * BS + BS),
          ),
        ).to.equal(true);
      }
      expect(quarantine.list()).to.deep.equal([]); // "not available" is nobody's fault
      await client.close();
    } finally {
      await empty.server.close();
    }
  });

  for (const fault of ["refused", "silent", "cut", "wrong-bytes"] as const) {
    const title =
      fault === "wrong-bytes"
        ? "a peer that serves wrong bytes is quarantined once the engine reports the block"
        : `a peer that is ${fault}: the next candidate serves, the peer is quarantined`;
    it(title, async () => {
      let bad: string;
      if (fault === "refused") {
        const gone = await startNode("127.0.0.6");
        bad = gone.id;
        await gone.server.close();
      } else {
        const peer = await startFaultyPeer("127.0.0.7", fault);
        extras.push(peer);
        bad = peer.id;
      }
      const good = nodes[2] as Node;
      const view = new StaticPeers({ peers: [bad, good.id], group: "team", self: "127.0.0.9:1", key });
      const { source, candidates, quarantine, client } = sourceFor(view, "127.0.0.9:1");
      // Two blocks the faulty peer owns, of a blob the good peer holds: which peer owns a block
      // depends on the peer's port, so the blob is picked to fit rather than hoped to.
      const { bytes: owned, digest: ownedDigest, indices } = blobWithTwoBlocksOwnedBy(bad, good.id);
      good.owner.add("registry.test:5000", REPO, ownedDigest, owned);
      const [i, j] = indices as [number, number];
      const blockOf = (index: number) => blockIn(owned, ownedDigest, index);
      const started = Date.now();
      const bytes = await source.fetchBlock(blockOf(i), new AbortController().signal);
      const elapsed = Date.now() - started;
      if (fault === "wrong-bytes") {
        expect(Buffer.from(bytes).equals(owned.subarray(i * BS, i * BS + BS))).to.equal(false);
        expect(quarantine.has(bad)).to.equal(false);
        // The engine's verification finds the lie and reports its source: the liar is quarantined.
        expect(quarantineLiar(quarantine, source.lastSource)).to.equal(bad);
      } else {
        expect(Buffer.from(bytes).equals(owned.subarray(i * BS, i * BS + BS))).to.equal(true);
        expect(elapsed).to.be.below(2000);
      }
      expect(quarantine.has(bad)).to.equal(true);
      expect(quarantine.has(good.id)).to.equal(false);
      // Quarantined: the next block it owns goes straight to the next candidate.
      const next = candidates(blockOf(j)) as PeerBlockSource[];
      expect(next.map((c) => c.peer)).to.deep.equal([good.id]);
      const again = await source.fetchBlock(blockOf(j), new AbortController().signal);
      expect(Buffer.from(again).equals(owned.subarray(j * BS, j * BS + BS))).to.equal(true);
      await client.close();
    });
  }

  it("a cached-only probe of a silent peer gives up at its own short limit, not transferTimeout, as a miss", async () => {
    const silent = await startFaultyPeer("127.0.0.10", "silent");
    extras.push(silent);
    const view = new StaticPeers({ peers: [silent.id], group: "team", self: "127.0.0.11:1", key });
    const { ctx, quarantine, client } = sourceFor(view, "127.0.0.11:1", 20_000);
    const probe = new PeerBlockSource(ctx, silent.id, "registry.test:5000", REPO, true);
    const started = performance.now();
    expect(await peerCodeOf(probe.fetchBlock(block(0), new AbortController().signal))).to.equal(
      "PEER_UNAVAILABLE",
    );
    expect(performance.now() - started).to.be.below(20_000);
    // Slow is not silent: the requests that need it as an owner decide that. It is not probed again
    // for a while.
    expect(quarantine.has(silent.id)).to.equal(false);
    expect(ctx.slowProbes.has(silent.id)).to.equal(true);
    await client.close();
  });

  it("a silent peer is quarantined when the engine's transfer timer runs out before the client's own", async () => {
    const silent = await startFaultyPeer("127.0.0.12", "silent");
    extras.push(silent);
    const other = await startFaultyPeer("127.0.0.13", "silent");
    extras.push(other);
    const view = new StaticPeers({ peers: [silent.id, other.id], group: "team", self: "127.0.0.14:1", key });
    // The client would wait 20 s for an answer; the engine's attempt gives up after 300 ms of no progress.
    const { ctx, quarantine, client } = sourceFor(view, "127.0.0.14:1", 20_000);
    const source = new PeerBlockSource(ctx, silent.id, "registry.test:5000", REPO);
    const timing = { transferTimeoutMs: 300, connectTimeoutMs: 500 };
    const err = await attemptFetch(source, block(0), new AbortController().signal, timing).catch((e) => e);
    expect(err).to.be.instanceOf(TransferTimeoutError);
    // The attempt settles at its timer; the source hears of the abort a moment later.
    for (let i = 0; i < 100 && !quarantine.has(silent.id); i++) await new Promise((r) => setTimeout(r, 10));
    expect(quarantine.has(silent.id), "the peer that never answered").to.equal(true);
    // The caller's own abort is not the peer's fault.
    const abort = new AbortController();
    const asked = attemptFetch(
      new PeerBlockSource(ctx, other.id, "registry.test:5000", REPO),
      block(0),
      abort.signal,
      {
        ...timing,
        transferTimeoutMs: 20_000,
      },
    );
    setTimeout(() => abort.abort(), 100);
    await asked.catch(() => undefined);
    expect(quarantine.has(other.id), "a peer whose request the caller dropped").to.equal(false);
    await client.close();
  });

  it("an aborted request rejects with PEER_ABORTED and quarantines nobody", async () => {
    const silent = await startFaultyPeer("127.0.0.8", "silent");
    extras.push(silent);
    const view = new StaticPeers({ peers: [silent.id], group: "team", self: "127.0.0.9:1", key });
    const { candidates, quarantine, client } = sourceFor(view, "127.0.0.9:1");
    const abort = new AbortController();
    const source = candidates(block(0))[0] as BlockSource;
    setTimeout(() => abort.abort(), 50);
    expect(await peerCodeOf(source.fetchBlock(block(0), abort.signal))).to.equal("PEER_ABORTED");
    expect(quarantine.has(silent.id)).to.equal(false);
    await client.close();
  });

  it("a peer asking this sidecar for a block is not probed for a copy of it while it waits; others are", async () => {
    // A: an owner whose fetch of the block waits. C: a peer that holds the blob and asks A for block 0.
    let release!: () => void;
    const fetching = new Promise<void>((resolve) => (release = resolve));
    const asking = new AskingPeers();
    const a = await startPeerServer({
      host: "127.0.0.15",
      port: 0,
      view: new StaticPeers({ peers: [], group: "team", self: "127.0.0.15", key }),
      blocks: { get: async () => (await fetching, undefined) },
      blockSize: BS,
      maxInFlight: 4,
      logger: silentLogger(),
      asking,
    });
    const c = await startNode("127.0.0.16");
    let probesOfC = 0;
    const answered = c.owner.get.bind(c.owner);
    c.owner.get = async (req) => {
      if (req.cachedOnly) probesOfC++;
      return answered(req);
    };
    const aId = `127.0.0.15:${a.address.port}`;
    const cView = new StaticPeers({ peers: [aId, c.id], group: "team", self: c.id, key });
    const cClient = new PeerClient({
      connectTimeoutMs: 500,
      transferTimeoutMs: 5_000,
      localAddress: "127.0.0.16",
    });
    const peerRequest = {
      host: "registry.test:5000",
      repo: REPO,
      digest,
      blobSize: blob.byteLength,
      blockSize: BS,
    };
    const cAsks = cClient.fetchBlock(
      aId,
      { ...peerRequest, index: 0 },
      cView.current().ticket!,
      new AbortController().signal,
    );
    cAsks.catch(() => undefined);
    const aView = new StaticPeers({ peers: [aId, c.id], group: "team", self: aId, key });
    const { ctx, client } = sourceFor(aView, aId);
    try {
      await waitUntil(
        async () => asking.has(digest, 0, c.id),
        5_000,
        () => "C's request never reached A",
      );
      const probe = new PeerBlockSource({ ...ctx, asking }, c.id, "registry.test:5000", REPO, true);
      expect(await peerCodeOf(probe.fetchBlock(block(0), new AbortController().signal))).to.equal(
        "PEER_UNAVAILABLE",
      );
      expect(probesOfC, "no probe sent for the block C is asking for").to.equal(0);
      const other = await probe.fetchBlock(block(1), new AbortController().signal);
      expect(Buffer.from(other).equals(blob.subarray(BS, 2 * BS))).to.equal(true);
      expect(probesOfC, "another block is probed").to.equal(1);
      release();
      expect(await peerCodeOf(cAsks)).to.equal("PEER_UNAVAILABLE");
      expect(asking.size, "nothing recorded once the request ended").to.equal(0);
      await probe.fetchBlock(block(0), new AbortController().signal);
      expect(probesOfC, "probed again once C stopped asking").to.equal(2);
    } finally {
      release();
      await Promise.all([client.close(), cClient.close(), a.close(), c.server.close()]);
    }
  });
});
