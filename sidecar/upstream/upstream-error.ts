/**
 * Errors of the upstream client, with stable codes the registry front maps to OCI errors and the
 * block engine to fallbacks. Code branches on `code`, never on message text.
 */
import { CodedError } from "../../lib/coded-error.ts";
export type UpstreamErrorCode =
  /** The registry (or token server) refused the credentials. */
  | "UPSTREAM_UNAUTHORIZED"
  | "UPSTREAM_DENIED"
  | "UPSTREAM_NOT_FOUND"
  /** A redirect or token realm points at an address the policy forbids; nothing was connected. */
  | "TARGET_REFUSED"
  | "UPSTREAM_UNREACHABLE"
  | "UPSTREAM_TIMEOUT"
  | "UPSTREAM_STATUS"
  | "UPSTREAM_PROTOCOL"
  | "TOKEN_FAILED"
  | "ABORTED";

export class UpstreamError extends CodedError<UpstreamErrorCode> {
  readonly status: number | undefined;
  constructor(code: UpstreamErrorCode, message: string, opts: { status?: number; cause?: unknown } = {}) {
    super(code, message, opts);
    this.name = "UpstreamError";
    this.status = opts.status;
  }
}
