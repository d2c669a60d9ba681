/**
 * Asks one peer for one block. Keeps idle keep-alive connections per peer (PeerConnection) and reads
 * each block straight into a buffer of exactly the block's length. A request that fails on a reused
 * connection before any byte of an answer arrived is retried once on a new connection: the peer may
 * simply have closed the idle connection as the request left (a GET of a block is safe to repeat).
 */
import type { FetchContext } from "../blocks/block-source.ts";
import { PeerConnection } from "./peer-connection.ts";
import { PeerError } from "./peer-error.ts";
import { blockLength, formatBlockPath, TICKET_SCHEME } from "./peer-protocol.ts";
import type { PeerBlockRequest } from "./peer-protocol.ts";
import type { PeerId } from "./peer-view.ts";

export interface PeerClientOptions {
  readonly connectTimeoutMs: number;
  /** Longest wait for the next byte (headers included), as the seed's transferTimeout. */
  readonly transferTimeoutMs: number;
  /** Idle connections kept per peer (default 32; more are closed when they come back). */
  readonly maxIdlePerPeer?: number;
}

/** A ticket goes into a header line as is: printable ASCII only. */
const HEADER_SAFE = /^[\x21-\x7e]+$/;

export class PeerClient {
  readonly #opts: PeerClientOptions;
  readonly #maxIdle: number;
  readonly #idle = new Map<PeerId, PeerConnection[]>();
  readonly #all = new Set<PeerConnection>();
  #closed = false;

  constructor(opts: PeerClientOptions) {
    this.#opts = opts;
    this.#maxIdle = opts.maxIdlePerPeer ?? 32;
  }

  /** Open connections (idle or busy), for tests and stats. */
  get connections(): number {
    return this.#all.size;
  }

  async fetchBlock(
    peer: PeerId,
    req: PeerBlockRequest,
    ticket: string,
    signal: AbortSignal,
    context?: FetchContext,
  ): Promise<Uint8Array> {
    if (this.#closed) throw new PeerError("PEER_ABORTED", "peer client closed", peer);
    if (!HEADER_SAFE.test(ticket))
      throw new PeerError("PEER_NO_TICKET", "peer ticket is not header-safe", peer);
    const target = Buffer.allocUnsafeSlow(blockLength(req));
    const path = formatBlockPath(req);
    const authorization = `${TICKET_SCHEME} ${ticket}`;
    const progress = context ? (bytes: number) => context.progress(bytes) : undefined;
    let connection = this.#takeIdle(peer);
    for (;;) {
      const reused = connection !== undefined;
      connection ??= this.#open(peer);
      try {
        await connection.get(path, authorization, target, signal, progress);
        this.#giveBack(connection);
        return target;
      } catch (err) {
        this.#giveBack(connection); // an error answer (404, 503, ...) leaves the connection clean
        const stale =
          reused &&
          !connection.answerStarted &&
          err instanceof PeerError &&
          err.peerCode === "PEER_PROTOCOL" &&
          !signal.aborted;
        if (!stale) throw err;
        connection = undefined; // once: the retry opens a new connection, which is never "reused"
      }
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const connection of this.#all) connection.destroy();
    this.#idle.clear();
  }

  #open(peer: PeerId): PeerConnection {
    const connection = new PeerConnection(peer, {
      connectTimeoutMs: this.#opts.connectTimeoutMs,
      transferTimeoutMs: this.#opts.transferTimeoutMs,
      onClose: (c) => this.#forget(c),
    });
    this.#all.add(connection);
    return connection;
  }

  /** The most recently used idle connection to `peer` (warmest), if any. */
  #takeIdle(peer: PeerId): PeerConnection | undefined {
    const list = this.#idle.get(peer);
    while (list && list.length > 0) {
      const connection = list.pop() as PeerConnection;
      if (connection.idle) return connection;
    }
    return undefined;
  }

  #giveBack(connection: PeerConnection): void {
    if (!connection.idle) return; // closed after its answer
    let list = this.#idle.get(connection.peer);
    if (!list) this.#idle.set(connection.peer, (list = []));
    if (this.#closed || list.length >= this.#maxIdle) connection.destroy();
    else list.push(connection);
  }

  #forget(connection: PeerConnection): void {
    this.#all.delete(connection);
    const list = this.#idle.get(connection.peer);
    if (!list) return;
    const i = list.indexOf(connection);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.#idle.delete(connection.peer);
  }
}
