/**
 * What a sidecar knows about its group: the ready peers of its group in its zone, the ticket it shows
 * to them, and the keys that verify the tickets they show. A provider (static list or directory
 * client) keeps one current view; the peer source and the peer server read it on every request.
 */
import type { PeerTicketVerifier } from "../../contract/peer-ticket.ts";

/** `ip:port` of a peer's block server: its identity in rendezvous hashing and quarantine. */
export type PeerId = string;

export interface PeerView {
  readonly group: string;
  /** Ready peers of the group in the zone (this sidecar included once it is ready itself). */
  readonly peers: readonly PeerId[];
  /** Peers of the group in the zone on their way (their sidecars not ready yet); 0 when unknown. */
  readonly starting?: number;
  /** The ticket this sidecar presents to peers; undefined until it has one. */
  readonly ticket: string | undefined;
}

export interface PeerViewProvider {
  current(): PeerView;
  /** Verifies tickets presented to this sidecar's peer server. */
  readonly verifier: PeerTicketVerifier;
  close(): Promise<void>;
}

export function peerId(host: string, port: number): PeerId {
  return `${host}:${port}`;
}

/** The host of a peer id, as net.connect takes it: `ip`, an IPv6 address without brackets, or a name. */
export function peerHost(peer: PeerId): string {
  const host = peer.slice(0, peer.lastIndexOf(":"));
  return host.startsWith("[") ? host.slice(1, -1) : host;
}

const PEER_RE = /^(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9.-]*[a-z0-9])?):(\d{1,5})$/;

/** Validates an `ip:port` entry of a static list or a directory answer. */
export function parsePeerId(text: string): PeerId | undefined {
  const t = text.trim().toLowerCase();
  const m = PEER_RE.exec(t);
  if (!m) return undefined;
  const port = Number(m[3]);
  return port >= 1 && port <= 65535 ? t : undefined;
}
