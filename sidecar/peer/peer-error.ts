/**
 * Errors of the peer data path, with stable codes. The code says whose fault a failure is: the peer's
 * (quarantine it), nobody's (the owner has no credential for the repository: try the next candidate),
 * or the request's own (the engine gave up on it).
 */

export type PeerErrorCode =
  /** No usable peer for this block (none listed, all quarantined, or this sidecar is the owner). */
  | "PEER_NONE"
  /** Connection refused, reset, or not established within connectTimeout. */
  | "PEER_UNREACHABLE"
  /** No byte for transferTimeout. */
  | "PEER_TIMEOUT"
  /** The peer answered with an error status or a body of the wrong length. */
  | "PEER_PROTOCOL"
  /** The peer refused our ticket. */
  | "PEER_REFUSED"
  /** The owner has neither the block nor a credential to fetch it. */
  | "PEER_UNAVAILABLE"
  /** The owner could not fetch the block from the registry. */
  | "PEER_ORIGIN_FAILED"
  /** The peer is overloaded. */
  | "PEER_BUSY"
  /** The caller aborted. */
  | "PEER_ABORTED";

export class PeerError extends Error {
  readonly code: PeerErrorCode;
  readonly peer: string | undefined;
  constructor(code: PeerErrorCode, message: string, peer?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PeerError";
    this.code = code;
    this.peer = peer;
  }
}

/** Failures that say something about the peer's health; the others are no reason to avoid it. */
export function isPeerFault(code: PeerErrorCode): boolean {
  return (
    code === "PEER_UNREACHABLE" ||
    code === "PEER_TIMEOUT" ||
    code === "PEER_PROTOCOL" ||
    code === "PEER_REFUSED"
  );
}
