/**
 * The sockets of the upstream client: undici Agents with keep-alive and the seed's timeouts
 * (connectTimeout to connect, transferTimeout for headers and between body chunks). Connections to
 * trusted hosts (configured upstreams, allowedHosts) resolve names normally; every other connection
 * resolves through the address policy's guarded lookup, so it can only reach a checked address.
 * Idempotent requests are retried with backoff on connection errors, 5xx and 429, a bounded number of
 * times; body errors are not retried here (the caller knows what it already consumed).
 *
 * HTTP/1.1 only (undici offers h2 by ALPN unless told not to): range reads spread over parallel
 * connections, each with its own congestion window, where h2 would carry them all on one; and the
 * sidecar image leaves undici's HTTP/2 client out (hack/images/sidecar-packages/).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Agent, type Dispatcher } from "undici";
import { isAbort } from "../../lib/coded-error.ts";
import type { TargetPolicy } from "./address-policy.ts";
import { UpstreamError } from "./upstream-error.ts";

/** Connections open to one registry host at most, unless the options say otherwise. */
export const CONNECTIONS_PER_ORIGIN = 64;

export interface TransportOptions {
  readonly connectTimeoutMs: number;
  readonly transferTimeoutMs: number;
  /** Attempts per request including the first (default 3). */
  readonly attempts?: number;
  /** First backoff delay; doubles per attempt, with jitter (default 200 ms). */
  readonly backoffMs?: number;
  readonly maxConnectionsPerOrigin?: number;
}

export interface SendOptions {
  readonly method: "GET" | "HEAD";
  readonly headers: Record<string, string>;
  readonly signal?: AbortSignal | undefined;
}

export type UpstreamResponse = Dispatcher.ResponseData;

const RETRYABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_CLOSED",
]);

export class HttpTransport {
  readonly #trusted: Agent;
  readonly #guarded: Agent;
  readonly #policy: TargetPolicy;
  readonly #attempts: number;
  readonly #backoffMs: number;

  constructor(policy: TargetPolicy, opts: TransportOptions) {
    this.#policy = policy;
    this.#attempts = opts.attempts ?? 3;
    this.#backoffMs = opts.backoffMs ?? 200;
    const common = {
      headersTimeout: opts.transferTimeoutMs,
      bodyTimeout: opts.transferTimeoutMs,
      keepAliveTimeout: 30_000,
      connections: opts.maxConnectionsPerOrigin ?? CONNECTIONS_PER_ORIGIN,
      allowH2: false,
    };
    this.#trusted = new Agent({ ...common, connect: { timeout: opts.connectTimeoutMs } });
    this.#guarded = new Agent({
      ...common,
      connect: { timeout: opts.connectTimeoutMs, lookup: policy.guardedLookup as never },
    });
  }

  /**
   * Sends with retries. The caller has already checked `url` against the policy when it came from the
   * registry; the guarded agent checks again at connect time.
   */
  async send(url: URL, opts: SendOptions): Promise<UpstreamResponse> {
    const dispatcher = this.#policy.isTrusted(url) ? this.#trusted : this.#guarded;
    for (let attempt = 1; ; attempt++) {
      let res: UpstreamResponse;
      try {
        res = await dispatcher.request({
          origin: url.origin,
          path: url.pathname + url.search,
          method: opts.method,
          headers: opts.headers,
          signal: opts.signal,
        });
      } catch (err) {
        const mapped = mapTransportError(err, url);
        if (attempt >= this.#attempts || !RETRYABLE_CODES.has(errorCode(err))) throw mapped;
        await this.#backoff(attempt, undefined, opts.signal);
        continue;
      }
      if ((res.statusCode >= 500 || res.statusCode === 429) && attempt < this.#attempts) {
        const retryAfter = res.headers["retry-after"];
        await res.body.dump().catch(() => undefined);
        await this.#backoff(attempt, typeof retryAfter === "string" ? retryAfter : undefined, opts.signal);
        continue;
      }
      return res;
    }
  }

  /** Closes every connection, aborting requests in flight (shutdown does not wait for transfers). */
  async close(): Promise<void> {
    await Promise.all([this.#trusted.destroy(), this.#guarded.destroy()]);
  }

  async #backoff(
    attempt: number,
    retryAfter: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const base = this.#backoffMs * 2 ** (attempt - 1);
    const hinted = retryAfter !== undefined && /^\d+$/.test(retryAfter) ? Number(retryAfter) * 1000 : 0;
    // A registry asking for a long pause is not waited for beyond a few seconds: the pull would stall.
    const delay = Math.min(Math.max(base, hinted), 5_000) * (0.75 + Math.random() * 0.5);
    try {
      await sleep(delay, undefined, signal ? { signal } : undefined);
    } catch (cause) {
      throw new UpstreamError("ABORTED", "aborted while waiting to retry", { cause });
    }
  }
}

function errorCode(err: unknown): string {
  return typeof err === "object" && err !== null && "code" in err
    ? String((err as { code: unknown }).code)
    : "";
}

/** Finds a policy refusal raised inside the connect path (possibly wrapped by undici or net). */
function findRefusal(err: unknown, depth = 0): UpstreamError | undefined {
  if (depth > 4 || typeof err !== "object" || err === null) return undefined;
  if (err instanceof UpstreamError) return err;
  const nested = [(err as { cause?: unknown }).cause, ...((err as { errors?: unknown[] }).errors ?? [])];
  for (const n of nested) {
    const found = findRefusal(n, depth + 1);
    if (found) return found;
  }
  return undefined;
}

export function mapTransportError(err: unknown, url: URL): UpstreamError {
  const inner = findRefusal(err);
  if (inner) return inner;
  const code = errorCode(err);
  if (isAbort(err)) {
    return new UpstreamError("ABORTED", `request to ${url.origin} aborted`, { cause: err });
  }
  if (
    code === "UND_ERR_CONNECT_TIMEOUT" ||
    code === "UND_ERR_HEADERS_TIMEOUT" ||
    code === "UND_ERR_BODY_TIMEOUT"
  ) {
    return new UpstreamError("UPSTREAM_TIMEOUT", `${url.origin}: ${code}`, { cause: err });
  }
  return new UpstreamError(
    "UPSTREAM_UNREACHABLE",
    `${url.origin}: ${code || (err instanceof Error ? err.message : String(err))}`,
    {
      cause: err,
    },
  );
}
