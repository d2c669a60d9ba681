/**
 * The block server on <podIP>:<peerPort>. It answers only requests that carry a valid ticket of this
 * sidecar's group, and serves a block from cache or, when it lacks it, by fetching it once (OwnerBlocks):
 * from the peers above it in the block's tree, or as the owner from the registry with its own
 * credential for the repository.
 */
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../../lib/logger.ts";
import { PeerTicketError } from "../../contract/peer-ticket.ts";
import { blockLength, parseBlockPath, ticketFromHeader } from "./peer-protocol.ts";
import type { PeerBlockRequest } from "./peer-protocol.ts";
import type { PeerViewProvider } from "./peer-view.ts";
import type { AskingPeers } from "./asking-peers.ts";

/** The owner side of the engine: what the peer server needs from the rest of the sidecar. */
export interface OwnerBlocks {
  /**
   * The block's bytes, from cache or fetched once (single-flight): from the peers above this sidecar
   * in the block's tree, or from the registry with this sidecar's own credential for `req.repo`;
   * undefined when it has neither the block nor a credential.
   */
  get(req: PeerBlockRequest, signal: AbortSignal): Promise<Uint8Array | undefined>;
  /** The bytes `get` gave are written: their buffer may serve another block (block-pool.ts). */
  release?(bytes: Uint8Array): void;
}

export interface PeerServerOptions {
  readonly host: string;
  readonly port: number;
  readonly view: PeerViewProvider;
  readonly blocks: OwnerBlocks;
  /** This sidecar's block size in bytes: peers with another geometry are not served. */
  readonly blockSize: number;
  /** Most block requests served at once; more get 503 and the requester moves on. */
  readonly maxInFlight: number;
  readonly logger: Logger;
  /** Every answer: its status and the block bytes sent (0 unless 200). */
  readonly onAnswer?: (status: number, bytes: number) => void;
  /** Where the requests in progress are recorded, so that this sidecar does not probe their askers. */
  readonly asking?: AskingPeers;
}

export interface PeerServer {
  readonly address: AddressInfo;
  close(): Promise<void>;
}

export async function startPeerServer(opts: PeerServerOptions): Promise<PeerServer> {
  let inFlight = 0;

  function reply(res: ServerResponse, status: number, code: string): void {
    const body = JSON.stringify({ code });
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
    opts.onAnswer?.(status, 0);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== "GET") return reply(res, 405, "METHOD_NOT_ALLOWED");
    const block = parseBlockPath(req.url ?? "");
    if (!block) return reply(res, 400, "BAD_REQUEST");
    try {
      opts.view.verifier.verify(ticketFromHeader(req.headers.authorization), opts.view.current().group);
    } catch (err) {
      if (err instanceof PeerTicketError) return reply(res, 401, err.code);
      throw err;
    }
    if (block.blockSize !== opts.blockSize) return reply(res, 404, "BLOCK_SIZE_MISMATCH");
    if (inFlight >= opts.maxInFlight) return reply(res, 503, "PEER_BUSY");
    inFlight++;
    const stopAsking = opts.asking?.add(block.digest, block.index, req.socket.remoteAddress);
    const abort = new AbortController();
    let answered = false;
    // Only a requester gone before the answer aborts the fetch (an abort builds an error with a stack:
    // not something to do after every block served).
    res.on("close", () => {
      if (!answered) abort.abort();
    });
    try {
      const bytes = await opts.blocks.get(block, abort.signal);
      if (bytes === undefined) return reply(res, 404, "PEER_UNAVAILABLE");
      if (bytes.byteLength !== blockLength(block)) throw new Error(`block has ${bytes.byteLength} bytes`);
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": bytes.byteLength });
      // Called once the socket has taken the bytes (or was closed): not before.
      res.end(bytes, () => opts.blocks.release?.(bytes));
      opts.onAnswer?.(200, bytes.byteLength);
    } catch (err) {
      if (abort.signal.aborted) return;
      opts.logger.warn({ err, digest: block.digest, index: block.index }, "peer block fetch failed");
      reply(res, 502, "PEER_ORIGIN_FAILED");
    } finally {
      answered = true;
      inFlight--;
      stopAsking?.();
    }
  }

  const server: Server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      opts.logger.error({ err }, "peer server error");
      if (!res.headersSent) reply(res, 500, "INTERNAL");
      else res.destroy();
    });
  });
  // Requesters send a bodiless GET: anything slow to arrive is not a peer of ours.
  server.headersTimeout = 10_000;
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    address: server.address() as AddressInfo,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
