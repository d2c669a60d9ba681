/**
 * A fixed peer list (ACR_P2P_PEERS), for tests, benchmarks and use outside Kubernetes. Without a
 * directory there is no controller to sign tickets, so every peer holds the same Ed25519 key: each
 * signs its own tickets and verifies the others'. Whoever holds the key is in the group.
 */
import { PeerTicketVerifier, publicKeyOf, signPeerTicket } from "../../contract/peer-ticket.ts";
import type { TicketSigningKey } from "../../contract/peer-ticket.ts";
import type { PeerId, PeerView, PeerViewProvider } from "./peer-view.ts";

export interface StaticPeersOptions {
  readonly peers: readonly PeerId[];
  readonly group: string;
  readonly self: PeerId;
  readonly key: TicketSigningKey;
  readonly ticketTtlSeconds?: number;
}

export class StaticPeers implements PeerViewProvider {
  readonly verifier: PeerTicketVerifier;
  readonly #opts: StaticPeersOptions;
  readonly #ttl: number;
  #peers: readonly PeerId[];
  #ticket = "";
  #renewAt = 0;

  constructor(opts: StaticPeersOptions) {
    this.#opts = opts;
    this.#ttl = opts.ticketTtlSeconds ?? 600;
    this.#peers = opts.peers;
    this.verifier = new PeerTicketVerifier([publicKeyOf(opts.key)]);
  }

  current(): PeerView {
    const now = Date.now() / 1000;
    if (now >= this.#renewAt) {
      this.#ticket = signPeerTicket(this.#opts.key, {
        group: this.#opts.group,
        subject: this.#opts.self,
        ttlSeconds: this.#ttl,
      });
      this.#renewAt = now + this.#ttl / 2;
    }
    return { group: this.#opts.group, peers: this.#peers, ticket: this.#ticket };
  }

  /** Replaces the list (tests that bind port 0 learn their peers' ports only after starting them). */
  setPeers(peers: readonly PeerId[]): void {
    this.#peers = peers;
  }

  async close(): Promise<void> {}
}
