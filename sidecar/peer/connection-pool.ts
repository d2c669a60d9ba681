/**
 * Keep-alive connections to peers, at most `maxPerPeer` open to each peer. A request takes the most
 * recently used idle connection, else opens one while under the cap, else waits (first come, first
 * served) for one to be given back or to close. Why a cap: at the start of a pull every block of the
 * readahead window is asked for at once, and without one each of those requests opened its own
 * connection, used about three times before it idled out; connections cost a handshake, kernel
 * buffers and a socket object each.
 */
import { PeerConnection } from "./peer-connection.ts";
import { PeerError } from "./peer-error.ts";
import type { PeerId } from "./peer-view.ts";

export interface PoolOptions {
  readonly connectTimeoutMs: number;
  readonly transferTimeoutMs: number;
  /** Connections open to one peer at most (busy, idle and connecting). */
  readonly maxPerPeer: number;
  /** Called for every connection opened (metrics). */
  readonly onOpen?: () => void;
  /** The address connections are made from (ConnectionOptions.localAddress). */
  readonly localAddress?: string;
}

interface Waiter {
  grant(connection: PeerConnection): void;
  fail(err: PeerError): void;
}

interface PeerSlots {
  readonly idle: PeerConnection[];
  open: number;
  readonly waiting: Waiter[];
}

export class ConnectionPool {
  readonly #opts: PoolOptions;
  readonly #peers = new Map<PeerId, PeerSlots>();
  readonly #all = new Set<PeerConnection>();
  #closed = false;

  constructor(opts: PoolOptions) {
    this.#opts = opts;
  }

  /** Open connections (idle or busy). */
  get size(): number {
    return this.#all.size;
  }

  /**
   * An idle connection to `peer`, or a new one while fewer than the cap plus `beyondCap` are open;
   * undefined when none is to be had at once.
   */
  tryAcquire(peer: PeerId, beyondCap = 0): PeerConnection | undefined {
    if (this.#closed) return undefined;
    const slots = this.#slots(peer);
    while (slots.idle.length > 0) {
      const connection = slots.idle.pop() as PeerConnection;
      if (connection.idle) return connection;
    }
    return slots.open < this.#opts.maxPerPeer + beyondCap ? this.open(peer) : undefined;
  }

  /**
   * A connection to `peer`; rejects with PEER_ABORTED when `signal` fires while waiting for one. An
   * `urgent` request waits at the head of the queue (a probe: it must not wait behind block requests).
   */
  acquire(peer: PeerId, signal: AbortSignal, urgent = false): Promise<PeerConnection> {
    if (this.#closed) return Promise.reject(new PeerError("PEER_ABORTED", "peer client closed", peer));
    const ready = this.tryAcquire(peer);
    if (ready !== undefined) return Promise.resolve(ready);
    const slots = this.#slots(peer);
    return new Promise<PeerConnection>((resolve, reject) => {
      const onAbort = () => {
        const i = slots.waiting.indexOf(waiter);
        if (i >= 0) slots.waiting.splice(i, 1);
        reject(new PeerError("PEER_ABORTED", "block request aborted", peer));
      };
      const waiter: Waiter = {
        grant: (connection) => {
          signal.removeEventListener("abort", onAbort);
          resolve(connection);
        },
        fail: (err) => {
          signal.removeEventListener("abort", onAbort);
          reject(err);
        },
      };
      if (signal.aborted) return onAbort();
      if (urgent) slots.waiting.unshift(waiter);
      else slots.waiting.push(waiter);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Opens a new connection to `peer`, outside the cap's queue: for a retry after a kept connection
   * turned out closed (its slot is freed when its close is noticed, a moment later).
   */
  open(peer: PeerId): PeerConnection {
    const slots = this.#slots(peer);
    const connection = new PeerConnection(peer, {
      connectTimeoutMs: this.#opts.connectTimeoutMs,
      transferTimeoutMs: this.#opts.transferTimeoutMs,
      onClose: (c) => this.#closedConnection(c),
      ...(this.#opts.localAddress !== undefined && { localAddress: this.#opts.localAddress }),
    });
    slots.open++;
    this.#all.add(connection);
    this.#opts.onOpen?.();
    return connection;
  }

  /** A request is done with `connection`: the next waiter gets it, or it idles (if it is still clean). */
  release(connection: PeerConnection): void {
    if (!connection.idle) return; // closed after its answer: #closedConnection frees the slot
    if (this.#closed) return connection.destroy();
    const slots = this.#slots(connection.peer);
    const waiter = slots.waiting.shift();
    if (waiter) waiter.grant(connection);
    else slots.idle.push(connection);
  }

  /**
   * Fails every request still waiting for a connection to `peer` (it was just quarantined): each
   * would otherwise get a new connection as a timed-out one closes and wait out its own timeout.
   */
  failWaiting(peer: PeerId, reason: string): void {
    const slots = this.#peers.get(peer);
    if (!slots) return;
    for (const waiter of slots.waiting.splice(0))
      waiter.fail(new PeerError("PEER_UNAVAILABLE", reason, peer));
  }

  close(): void {
    this.#closed = true;
    for (const connection of this.#all) connection.destroy();
    for (const [peer, slots] of this.#peers) {
      for (const waiter of slots.waiting.splice(0)) {
        waiter.fail(new PeerError("PEER_ABORTED", "peer client closed", peer));
      }
    }
  }

  #closedConnection(connection: PeerConnection): void {
    this.#all.delete(connection);
    const slots = this.#peers.get(connection.peer);
    if (!slots) return;
    slots.open--;
    const i = slots.idle.indexOf(connection);
    if (i >= 0) slots.idle.splice(i, 1);
    // A freed slot goes to the first waiter as a new connection.
    const waiter = this.#closed ? undefined : slots.waiting.shift();
    if (waiter) waiter.grant(this.open(connection.peer));
    else if (slots.open === 0 && slots.waiting.length === 0) this.#peers.delete(connection.peer);
  }

  #slots(peer: PeerId): PeerSlots {
    let slots = this.#peers.get(peer);
    if (!slots) this.#peers.set(peer, (slots = { idle: [], open: 0, waiting: [] }));
    return slots;
  }
}
