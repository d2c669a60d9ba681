/**
 * The owner side and the whole peer network in one process: real block engines, real peer servers
 * on 127.0.0.x, in-memory origins standing in for the registry (each "sidecar" has its own, as each
 * has its own credential).
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { Writable } from "node:stream";
import { silentLogger } from "../../../../lib/logger.ts";
import { generateTicketKey, ticketKeyToPem } from "../../../../contract/peer-ticket.ts";
import { BlockEngine, DigestMismatchError, MemoryBlockSource } from "../../../../sidecar/blocks/index.ts";
import type { BlobDescriptor, BlockSource } from "../../../../sidecar/blocks/index.ts";
import { MemoryBlockStore } from "../../../../sidecar/stores/memory-store.ts";
import { ANONYMOUS } from "../../../../sidecar/upstream/client-credential.ts";
import { EngineOwnerBlocks, type OwnerOrigin } from "../../../../sidecar/peer/engine-owner-blocks.ts";
import { OwnerCredentials } from "../../../../sidecar/peer/owner-credentials.ts";
import { createPeerNetwork, type PeerNetwork } from "../../../../sidecar/peer/peer-network.ts";
import { startFaultyPeer } from "../../../support/peer/faulty-peer.ts";

const BS = 64 * 1024;

/** An in-memory registry as an owner's origin: it grants exactly the blobs it holds. */
function ownerOrigin(source: MemoryBlockSource): OwnerOrigin {
  return { source, holds: async (blob) => source.has(blob) };
}

/** The owner side of `engine`, with `source` as its registry and no wait for a credential. */
function ownerOver(engine: BlockEngine, source: MemoryBlockSource): EngineOwnerBlocks {
  return new EngineOwnerBlocks(engine, async () => ownerOrigin(source), {
    credentialWaitMs: 0,
    noCredentialTtlMs: 1000,
  });
}

function engineWith(network?: PeerNetwork): BlockEngine {
  return new BlockEngine({
    store: new MemoryBlockStore({ capacityBytes: 64 * 1024 * 1024 }),
    blockSizeBytes: BS,
    proxyFsParallels: 32,
    transferTimeoutMs: 2000,
    connectTimeoutMs: 500,
    ...(network ? { isOwned: network.isOwned, onBadBlock: network.onBadBlock } : {}),
  });
}

async function drain(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await pipeline(stream, new Writable({ write: (c: Buffer, _e, done) => (chunks.push(c), done()) }));
  return Buffer.concat(chunks);
}

describe("owner credentials", () => {
  it("remembers the latest proven credential per repository and wakes waiters", async () => {
    const creds = new OwnerCredentials();
    expect(creds.credentialFor("r.io", "a/b")).to.equal(undefined);
    const waiting = creds.waitForCredential("r.io", "a/b", 2000, new AbortController().signal);
    setTimeout(() => creds.record(ANONYMOUS, "r.io", "a/b", Date.now() + 60_000), 30);
    expect(await waiting).to.equal(ANONYMOUS);
    expect(creds.isProven(ANONYMOUS, "r.io", "a/b")).to.equal(true);
    expect(await creds.waitForCredential("r.io", "other", 50, new AbortController().signal)).to.equal(
      undefined,
    );
    creds.revoke(ANONYMOUS, "r.io", "a/b");
    expect(creds.credentialFor("r.io", "a/b")).to.equal(undefined);
  });
});

describe("engine-backed owner blocks", () => {
  const origin = new MemoryBlockSource({ kind: "origin", delayMs: 50 });
  const blob = origin.add(randomBytes(BS * 4 + 10));
  const req = (index: number, blockSize = BS) => ({
    host: "r.io",
    repo: "a/b",
    digest: blob.digest,
    blobSize: blob.size,
    blockSize,
    index,
  });

  it("three peers asking for one block cause one origin fetch", async () => {
    const owner = ownerOver(engineWith(), origin);
    const before = origin.fetches;
    const signal = new AbortController().signal;
    const got = await Promise.all([
      owner.get(req(1), signal),
      owner.get(req(1), signal),
      owner.get(req(1), signal),
    ]);
    expect(origin.fetches - before).to.equal(1);
    for (const g of got) expect(g?.byteLength).to.equal(BS);
  });

  it("cross-repository read: a cached block of a blob the registry does not grant the owner's credential in the asked repository is unavailable", async () => {
    const engine = engineWith();
    const signal = new AbortController().signal;
    // Repository a/b's registry holds the blob; the owner caches block 2 through it.
    const grantsA = ownerOver(engine, origin);
    expect((await grantsA.get(req(2), signal))?.byteLength).to.equal(BS);
    // Repository other/repo does not hold it: the same engine, with its block cached, answers nothing.
    const elsewhere = new MemoryBlockSource({ kind: "origin" });
    const asOther = ownerOver(engine, elsewhere);
    expect(await asOther.get({ ...req(2), repo: "other/repo" }, signal)).to.equal(undefined);
    expect(elsewhere.fetches).to.equal(0);
  });

  it("a size that disagrees with the registry's is refused at once, and nothing is stored", async () => {
    const engine = engineWith();
    const signal = new AbortController().signal;
    const owner = ownerOver(engine, origin);
    const fetches = origin.fetches;
    // The last block of a blob said to be 10 bytes short: would be stored short under the real key.
    const last = Math.floor((blob.size - 10) / BS);
    for (const blobSize of [blob.size - 10, blob.size + 1]) {
      expect(await owner.get({ ...req(last), blobSize }, signal), String(blobSize)).to.equal(undefined);
    }
    expect(origin.fetches).to.equal(fetches);
    expect(engine.stats().store.entries).to.equal(0);
  });

  it("without a credential: unavailable after the wait, then at once for a while; other geometry: unavailable", async () => {
    let asked = 0;
    const lookup = async (_h: string, _r: string, waitMs: number): Promise<OwnerOrigin | undefined> => {
      asked++;
      await new Promise((r) => setTimeout(r, waitMs));
      return undefined;
    };
    const owner = new EngineOwnerBlocks(engineWith(), lookup, {
      credentialWaitMs: 200,
      noCredentialTtlMs: 10_000,
    });
    const signal = new AbortController().signal;
    let t0 = Date.now();
    expect(await owner.get(req(0), signal)).to.equal(undefined);
    expect(Date.now() - t0).to.be.at.least(190);
    t0 = Date.now();
    expect(await owner.get(req(0), signal)).to.equal(undefined);
    expect(Date.now() - t0).to.be.below(100);
    expect(asked).to.equal(2);
    expect(await owner.get(req(0, BS * 2), signal)).to.equal(undefined);
    expect(asked).to.equal(2);
  });
});

describe("peer network (static list) with real engines", function () {
  this.timeout(20_000);
  const dir = mkdtempSync(join(tmpdir(), "acr-p2p-peer-"));
  const keyFile = join(dir, "key.pem");
  writeFileSync(keyFile, ticketKeyToPem(generateTicketKey()));
  const content = randomBytes(BS * 40 + 123);
  after(() => rmSync(dir, { recursive: true, force: true }));

  function settings(ip: string, peers: string[], port: number) {
    return {
      podIP: ip,
      peerPort: port,
      peers,
      peerSharing: true,
      group: "g",
      directoryURL: undefined,
      directoryCA: undefined,
      connectTimeoutMs: 500,
      transferTimeoutMs: 1000,
      blockSizeBytes: BS,
      proxyFsParallels: 32,
      peerTicketKeyFile: keyFile,
    };
  }

  async function startNode(ip: string, peers: string[], port: number) {
    const network = createPeerNetwork(settings(ip, peers, port), { logger: silentLogger() });
    const engine = engineWith(network);
    const origin = new MemoryBlockSource({ kind: "origin", id: `origin@${ip}` });
    const blob: BlobDescriptor = origin.add(content);
    await network.serve(engine, async () => ownerOrigin(origin));
    return { network, engine, origin, blob };
  }

  it("each block comes from the origin once across the group; the rest flows between peers", async () => {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    const ids = ["127.0.0.41", "127.0.0.42", "127.0.0.43"].map((ip) => `${ip}:${port}`);
    const nodes = await Promise.all(
      ["127.0.0.41", "127.0.0.42", "127.0.0.43"].map((ip) => startNode(ip, ids, port)),
    );
    try {
      const outs = await Promise.all(
        nodes.map((n) =>
          drain(
            n.engine.streamBlob(n.blob, n.network.sources("r.io", "a/b", n.origin), {
              authoritative: n.origin,
            }),
          ),
        ),
      );
      for (const out of outs) expect(out.equals(content)).to.equal(true);
      const originFetches = nodes.reduce((a, n) => a + n.origin.fetches, 0);
      expect(originFetches).to.be.within(41, 44);
    } finally {
      for (const n of nodes) await n.network.close();
    }
  });

  it("a peer that joins a group that pulled: the blocks it now owns come from their previous owners' caches, not the origin", async () => {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    const first = ["127.0.0.51", "127.0.0.52"].map((ip) => `${ip}:${port}`);
    const nodes = await Promise.all(["127.0.0.51", "127.0.0.52"].map((ip) => startNode(ip, first, port)));
    const joiner = await startNode("127.0.0.53", [...first, `127.0.0.53:${port}`], port);
    try {
      for (const n of nodes) {
        const out = await drain(
          n.engine.streamBlob(n.blob, n.network.sources("r.io", "a/b", n.origin), {
            authoritative: n.origin,
          }),
        );
        expect(out.equals(content)).to.equal(true);
      }
      const out = await drain(
        joiner.engine.streamBlob(joiner.blob, joiner.network.sources("r.io", "a/b", joiner.origin), {
          authoritative: joiner.origin,
        }),
      );
      expect(out.equals(content)).to.equal(true);
      // It owns about a third of the 41 blocks; the last block may be held back for the whole-blob check.
      expect(joiner.origin.fetches).to.be.at.most(1);
    } finally {
      for (const n of [...nodes, joiner]) await n.network.close();
    }
  });

  it("a scale-out whose first sidecar pulled alone: the two that follow together take nothing from the origin", async () => {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    const all = ["127.0.0.61", "127.0.0.62", "127.0.0.63"].map((ip) => `${ip}:${port}`);
    const first = await startNode("127.0.0.61", [all[0]!], port);
    const later = await Promise.all(["127.0.0.62", "127.0.0.63"].map((ip) => startNode(ip, all, port)));
    const pull = (n: typeof first) =>
      drain(
        n.engine.streamBlob(n.blob, n.network.sources("r.io", "a/b", n.origin), { authoritative: n.origin }),
      );
    try {
      expect((await pull(first)).equals(content)).to.equal(true);
      const outs = await Promise.all(later.map(pull));
      for (const out of outs) expect(out.equals(content)).to.equal(true);
      // Each owns about a third, which the other newcomer lacks as well: the first sidecar has it.
      expect(later.map((n) => n.origin.fetches)).to.deep.equal([0, 0]);
    } finally {
      for (const n of [first, ...later]) await n.network.close();
    }
  });

  it("a lying peer: the stream fails before completing, the recovery pins the lie on it, the retry verifies", async () => {
    const liar = await startFaultyPeer("127.0.0.44", "wrong-bytes");
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    const node = await startNode("127.0.0.45", [`127.0.0.45:${port}`, liar.id], port);
    try {
      const sources = node.network.sources("r.io", "a/b", node.origin);
      const err = await drain(
        node.engine.streamBlob(node.blob, sources, { authoritative: node.origin }),
      ).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(DigestMismatchError);
      const report = await (err as DigestMismatchError).recovery;
      expect(report.recovered).to.equal(true);
      expect(report.badBlocks.length).to.be.above(0);
      expect(node.network.quarantine.has(liar.id)).to.equal(true);
      const hits = liar.hits();
      const again = await drain(node.engine.streamBlob(node.blob, sources, { authoritative: node.origin }));
      expect(again.equals(content)).to.equal(true);
      expect(liar.hits()).to.equal(hits);
    } finally {
      await node.network.close();
      await liar.close();
    }
  });
});
