/**
 * Peer metrics, registered in the sidecar's own prom-client registry: what this sidecar served to
 * peers, how asking peers went, and who is quarantined.
 */
import { Counter, Gauge } from "prom-client";
import type { Registry } from "prom-client";

export class PeerMetrics {
  readonly servedBytes: Counter;
  readonly served: Counter<"status">;
  readonly failures: Counter<"code">;
  readonly quarantined: Gauge;
  readonly peers: Gauge;
  readonly connections: Gauge;
  readonly connectionsOpened: Counter;

  readonly directoryFailures: Counter;

  constructor(registry: Registry, sample: () => { peers: number; quarantined: number; connections: number }) {
    const registers = [registry];
    this.servedBytes = new Counter({
      name: "acr_p2p_peer_served_bytes_total",
      help: "Block bytes this sidecar sent to group peers.",
      registers,
    });
    this.served = new Counter({
      name: "acr_p2p_peer_requests_total",
      help: "Block requests from peers, by answer (200, 401 bad ticket, 404 unavailable, 503 busy, ...).",
      labelNames: ["status"],
      registers,
    });
    this.failures = new Counter({
      name: "acr_p2p_peer_failures_total",
      help: "Failed block requests to peers, by peer error code (PEER_TIMEOUT, PEER_UNREACHABLE, DIGEST_MISMATCH, ...).",
      labelNames: ["code"],
      registers,
    });
    this.quarantined = new Gauge({
      name: "acr_p2p_peers_quarantined",
      help: "Peers currently skipped after failing or lying.",
      registers,
      collect() {
        this.set(sample().quarantined);
      },
    });
    this.peers = new Gauge({
      name: "acr_p2p_peers",
      help: "Ready peers of this sidecar's group in its zone, as last listed.",
      registers,
      collect() {
        this.set(sample().peers);
      },
    });
    this.connections = new Gauge({
      name: "acr_p2p_peer_connections",
      help: "Open connections from this sidecar to its peers' block servers (busy and idle).",
      registers,
      collect() {
        this.set(sample().connections);
      },
    });
    this.directoryFailures = new Counter({
      name: "acr_p2p_directory_failures_total",
      help: "Failed calls to the peer directory (unreachable, refused, malformed answer); the last peer list stays in force.",
      registers,
    });
    this.connectionsOpened = new Counter({
      name: "acr_p2p_peer_connections_opened_total",
      help: "Connections opened to peers; far fewer than block requests while keep-alive works.",
      registers,
    });
  }
}
