/**
 * Maps every error the front can meet to the OCI error the client sees. Upstream and block-engine
 * errors are classified by their stable codes; anything unknown becomes a 500 (the caller logs it).
 */
import { BlockError, BlockUnavailableError } from "../blocks/index.ts";
import { UpstreamError } from "../upstream/upstream-error.ts";
import { internalError, OciError, unauthorized } from "./oci-error.ts";

export type SubjectKind = "manifest" | "blob" | "ping" | "tags" | "referrers";

export function toOciError(err: unknown, subject: SubjectKind): OciError {
  if (err instanceof OciError) return err;
  if (err instanceof UpstreamError) return fromUpstream(err, subject);
  if (err instanceof BlockError) return fromBlock(err, subject);
  return internalError();
}

function fromUpstream(err: UpstreamError, subject: SubjectKind): OciError {
  switch (err.code) {
    case "UPSTREAM_UNAUTHORIZED":
      return unauthorized("authentication required: the registry did not accept these credentials");
    case "UPSTREAM_DENIED":
      return new OciError("DENIED", "the registry denied access");
    case "UPSTREAM_NOT_FOUND":
      if (subject === "manifest") return new OciError("MANIFEST_UNKNOWN", "manifest unknown to the registry");
      if (subject === "blob") return new OciError("BLOB_UNKNOWN", "blob unknown to the registry");
      // For referrers this 404 is also the spec's "no referrers API here": clients fall back to tags.
      return new OciError("NAME_UNKNOWN", `the registry has no ${subject} listing for this repository`);
    case "TARGET_REFUSED":
      return new OciError("UPSTREAM_REFUSED", err.message, { cause: err });
    case "UPSTREAM_TIMEOUT":
      return new OciError("UPSTREAM_TIMEOUT", "the registry did not answer in time", { cause: err });
    case "UPSTREAM_STATUS":
      if (err.status === 429) return new OciError("TOOMANYREQUESTS", "the registry is rate limiting");
      return new OciError("UPSTREAM_ERROR", err.message, { cause: err });
    default:
      return new OciError("UPSTREAM_ERROR", err.message, { cause: err });
  }
}

function fromBlock(err: BlockError, subject: SubjectKind): OciError {
  if (err.code === "RANGE_INVALID") return new OciError("RANGE_INVALID", err.message);
  if (err.code === "DIGEST_MISMATCH") {
    return new OciError("UPSTREAM_ERROR", "blob content did not match its digest", { cause: err });
  }
  if (err instanceof BlockUnavailableError && err.failures.length > 0) {
    const codes = new Set(err.failures.map((f) => f.error.code));
    const only = (code: string): boolean => codes.size === 1 && codes.has(code as never);
    // The origin is the last word: its refusal or absence is what the client should hear.
    const last = err.failures[err.failures.length - 1]?.error;
    const refused = last?.cause instanceof UpstreamError ? fromUpstream(last.cause, subject) : undefined;
    if (refused && (refused.code === "UNAUTHORIZED" || refused.code === "UPSTREAM_REFUSED")) return refused;
    if (only("UNAUTHORIZED")) return unauthorized("authentication required");
    if (only("NOT_FOUND")) return new OciError("BLOB_UNKNOWN", "blob unknown to the registry");
    if (only("TRANSFER_TIMEOUT") || only("CONNECT_TIMEOUT")) {
      return new OciError("UPSTREAM_TIMEOUT", err.message, { cause: err });
    }
  }
  return new OciError("UPSTREAM_ERROR", err.message, { cause: err });
}
