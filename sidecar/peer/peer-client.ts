/**
 * Asks one peer for one block, over a kept connection from the ConnectionPool, reading the block
 * straight into a buffer of exactly its length. A request that fails on a reused connection before
 * any byte of an answer arrived is retried once on a new connection: the peer may simply have closed
 * the idle connection as the request left (a GET of a block is safe to repeat).
 */
import { UNPOOLED } from "../buffers/block-pool.ts";
import type { BlockBuffers } from "../buffers/block-pool.ts";
import { type FetchContext, TransferTimeoutError } from "../blocks/index.ts";
import { ConnectionPool } from "./connection-pool.ts";
import { PeerError } from "./peer-error.ts";
import { blockLength, formatBlockPath, TICKET_SCHEME } from "./peer-protocol.ts";
import type { PeerBlockRequest } from "./peer-protocol.ts";
import type { PeerId } from "./peer-view.ts";

export interface PeerClientOptions {
  readonly connectTimeoutMs: number;
  /** Longest wait for the next byte (headers included), as the seed's transferTimeout. */
  readonly transferTimeoutMs: number;
  /** Connections open to one peer at most (default 8); more requests wait for one. */
  readonly maxConnectionsPerPeer?: number;
  /** Called for every connection opened (metrics). */
  readonly onOpen?: () => void;
  /** Where block buffers come from; default their own allocation. */
  readonly buffers?: BlockBuffers;
  /**
   * The address to connect from: this sidecar's pod IP, so that a peer sees which of its peers asks
   * (asking-peers.ts), also where several sidecars share a host's loopback. Default the system's choice.
   */
  readonly localAddress?: string;
}

/** Connections open to one peer at most, unless the options say otherwise. */
export const CONNECTIONS_PER_PEER = 8;

/**
 * Connections a probe for a held copy (cachedOnly) may open beyond the cap; with those busy too it
 * waits at the head of the queue, not behind the block requests to that peer. Queued behind them,
 * probes ran into their 1 s deadline and stalled their block (bench/sim found it: at N=4 a 128 MiB
 * pull at 25 MB/s took 7.9 s instead of 6.2); never waiting, a busy peer that held the block was not
 * asked and the block came from the registry.
 */
export const PROBE_CONNECTIONS = 2;

/** A ticket goes into a header line as is: printable ASCII only. */
const HEADER_SAFE = /^[\x21-\x7e]+$/;

export class PeerClient {
  readonly #pool: ConnectionPool;
  readonly #buffers: BlockBuffers;

  constructor(opts: PeerClientOptions) {
    this.#pool = new ConnectionPool({
      connectTimeoutMs: opts.connectTimeoutMs,
      transferTimeoutMs: opts.transferTimeoutMs,
      maxPerPeer: opts.maxConnectionsPerPeer ?? CONNECTIONS_PER_PEER,
      ...(opts.onOpen ? { onOpen: opts.onOpen } : {}),
      ...(opts.localAddress !== undefined && { localAddress: opts.localAddress }),
    });
    this.#buffers = opts.buffers ?? UNPOOLED;
  }

  /** Open connections (idle or busy), for tests and metrics. */
  get connections(): number {
    return this.#pool.size;
  }

  async fetchBlock(
    peer: PeerId,
    req: PeerBlockRequest,
    ticket: string,
    signal: AbortSignal,
    context?: FetchContext,
  ): Promise<Uint8Array> {
    if (!HEADER_SAFE.test(ticket)) {
      throw new PeerError("PEER_NO_TICKET", "peer ticket is not header-safe", peer);
    }
    const length = blockLength(req);
    if (!Number.isSafeInteger(req.index) || req.index < 0 || !Number.isSafeInteger(length) || length <= 0) {
      throw new PeerError(
        "PEER_BAD_REQUEST",
        `block ${req.index} of ${req.blockSize} bytes is outside blob ${req.digest} of ${req.blobSize} bytes`,
        peer,
      );
    }
    let connection = req.cachedOnly
      ? (this.#pool.tryAcquire(peer, PROBE_CONNECTIONS) ?? (await this.#pool.acquire(peer, signal, true)))
      : await this.#pool.acquire(peer, signal);
    const target = this.#buffers.allocate(length);
    const path = formatBlockPath(req);
    const authorization = `${TICKET_SCHEME} ${ticket}`;
    const progress = context ? (bytes: number) => context.progress(bytes) : undefined;
    for (;;) {
      try {
        await connection.get(path, authorization, target, signal, progress);
        this.#pool.release(connection);
        return target;
      } catch (err) {
        this.#pool.release(connection); // an error answer (404, 503, ...) leaves it clean
        // A kept connection that failed before any byte of an answer (it counts answers completed).
        const stale =
          connection.reused &&
          !connection.answerStarted &&
          err instanceof PeerError &&
          err.peerCode === "PEER_PROTOCOL" &&
          !signal.aborted;
        if (!stale) {
          // Nothing reads into it any more: a failed exchange rejects once its socket is closed, and
          // an error answer (404, 503, ...) reads its body elsewhere (peer-connection.ts).
          this.#buffers.release(target);
          // The engine's transfer timer (no progress for transferTimeout) aborts the exchange before
          // this connection's own timer would: on the wire, that is the peer's fault all the same.
          if (signal.aborted && signal.reason instanceof TransferTimeoutError) {
            throw new PeerError("PEER_TIMEOUT", `no progress from the peer: ${signal.reason.message}`, peer, {
              cause: err,
            });
          }
          throw err;
        }
        // Once: the new connection has never answered, so a second failure is the peer's.
        connection = this.#pool.open(peer);
      }
    }
  }

  /** Requests waiting for a connection to `peer` fail at once (PEER_UNAVAILABLE: no fault of theirs). */
  giveUpWaiting(peer: PeerId, reason: string): void {
    this.#pool.failWaiting(peer, reason);
  }

  async close(): Promise<void> {
    this.#pool.close();
  }
}
