/**
 * The one error type the registry front answers with. Each code is registered once with its HTTP
 * status (the distribution spec's codes, plus a few for upstream trouble); `renderOciError` is the only
 * place that writes an error body. Anything that is not an OciError becomes a plain 500 whose cause
 * goes to the log only.
 */
import type { ServerResponse } from "node:http";
import { CodedError } from "../../lib/coded-error.ts";

export const OCI_ERROR_STATUS = Object.freeze({
  BLOB_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  MANIFEST_INVALID: 400,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  RANGE_INVALID: 416,
  /** The registry (or where it redirected) failed or answered nonsense. */
  UPSTREAM_ERROR: 502,
  /** A redirect or token realm pointed somewhere the policy forbids. */
  UPSTREAM_REFUSED: 502,
  UPSTREAM_TIMEOUT: 504,
  /** The sidecar is overloaded or shutting down. */
  UNAVAILABLE: 503,
  /** Only for the fallback renderer: never thrown on purpose. */
  INTERNAL_ERROR: 500,
} as const);

export type OciErrorCode = keyof typeof OCI_ERROR_STATUS;

export class OciError extends CodedError<OciErrorCode> {
  readonly detail: unknown;
  /** Extra response headers (WWW-Authenticate on 401, Content-Range on 416). */
  readonly headers: Readonly<Record<string, string>>;
  constructor(
    code: OciErrorCode,
    message: string,
    opts: { detail?: unknown; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(code, message, opts);
    this.name = "OciError";
    this.detail = opts.detail;
    this.headers = Object.freeze({ ...opts.headers });
  }

  get status(): number {
    return OCI_ERROR_STATUS[this.code];
  }
}

export const BASIC_CHALLENGE = 'Basic realm="acr-p2p"';

export function unauthorized(message: string): OciError {
  return new OciError("UNAUTHORIZED", message, { headers: { "www-authenticate": BASIC_CHALLENGE } });
}

/** Writes `{"errors":[{code,message,detail}]}`; HEAD answers carry the status and headers only. */
export function renderOciError(res: ServerResponse, err: OciError, method: string): void {
  const body = JSON.stringify({
    errors: [
      { code: err.code, message: err.message, ...(err.detail !== undefined && { detail: err.detail }) },
    ],
  });
  if (res.headersSent) {
    res.destroy(err);
    return;
  }
  res.statusCode = err.status;
  for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
  res.setHeader("content-type", "application/json; charset=utf-8");
  res.setHeader("content-length", Buffer.byteLength(body));
  res.end(method === "HEAD" ? undefined : body);
}

export function internalError(): OciError {
  return new OciError("INTERNAL_ERROR", "internal error");
}
