/**
 * Errors of the peer data path. A PeerError is a BlockFetchError (so the engine treats it as one more
 * failed source and moves on), with a finer `peerCode` that says whose fault the failure is: the
 * peer's (quarantine it), or nobody's (the owner has no credential for the repository, or is busy).
 */
import { BlockFetchError, type FetchFailureCode } from "../blocks/index.ts";

export type PeerErrorCode =
  /** No ticket yet: this sidecar cannot ask anyone. */
  | "PEER_NO_TICKET"
  /** Connection refused, reset, or not established within connectTimeout. */
  | "PEER_UNREACHABLE"
  /** No byte for transferTimeout. */
  | "PEER_TIMEOUT"
  /** The peer answered with an unexpected status or a body of the wrong length. */
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
  | "PEER_ABORTED"
  /** The request names no block of its blob (an index or size out of bounds): no peer was asked. */
  | "PEER_BAD_REQUEST";

const FETCH_CODE: Record<PeerErrorCode, FetchFailureCode> = {
  PEER_NO_TICKET: "UNAUTHORIZED",
  PEER_UNREACHABLE: "CONNECT_TIMEOUT",
  PEER_TIMEOUT: "TRANSFER_TIMEOUT",
  PEER_PROTOCOL: "SOURCE_FAILED",
  PEER_REFUSED: "UNAUTHORIZED",
  PEER_UNAVAILABLE: "NOT_FOUND",
  PEER_ORIGIN_FAILED: "SOURCE_FAILED",
  PEER_BUSY: "SOURCE_FAILED",
  PEER_ABORTED: "SOURCE_FAILED",
  PEER_BAD_REQUEST: "SOURCE_FAILED",
};

export class PeerError extends BlockFetchError {
  readonly peerCode: PeerErrorCode;
  readonly peer: string | undefined;
  constructor(peerCode: PeerErrorCode, message: string, peer?: string, options?: { cause?: unknown }) {
    super(FETCH_CODE[peerCode], message, options);
    this.peerCode = peerCode;
    this.peer = peer;
  }

  override isAbort(): boolean {
    return this.peerCode === "PEER_ABORTED";
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
