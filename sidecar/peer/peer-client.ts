/**
 * Asks one peer for one block over HTTP/1.1 keep-alive (undici). Every failure becomes a PeerError
 * whose code says whether the peer is at fault; the body must be exactly the block's length.
 */
import type { Readable } from "node:stream";
import { Agent } from "undici";
import type { FetchContext } from "../blocks/block-source.ts";
import { PeerError } from "./peer-error.ts";
import type { PeerErrorCode } from "./peer-error.ts";
import { blockLength, formatBlockPath, TICKET_SCHEME } from "./peer-protocol.ts";
import type { PeerBlockRequest } from "./peer-protocol.ts";
import type { PeerId } from "./peer-view.ts";

export interface PeerClientOptions {
  readonly connectTimeoutMs: number;
  /** Longest wait for the next byte (headers included), as the seed's transferTimeout. */
  readonly transferTimeoutMs: number;
}

const STATUS_CODES: Record<number, PeerErrorCode> = {
  401: "PEER_REFUSED",
  404: "PEER_UNAVAILABLE",
  502: "PEER_ORIGIN_FAILED",
  503: "PEER_BUSY",
};

function errorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | null;
  const code = e?.code ?? e?.cause?.code;
  return typeof code === "string" ? code : undefined;
}

function classify(err: unknown, peer: PeerId, signal: AbortSignal): PeerError {
  if (err instanceof PeerError) return err;
  if (signal.aborted) return new PeerError("PEER_ABORTED", "block request aborted", peer, { cause: err });
  const code = errorCode(err);
  if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") {
    return new PeerError("PEER_TIMEOUT", `peer ${peer} sent nothing for too long`, peer, { cause: err });
  }
  if (
    code === "UND_ERR_CONNECT_TIMEOUT" ||
    code === "ECONNREFUSED" ||
    code === "EHOSTUNREACH" ||
    code === "ENETUNREACH"
  ) {
    return new PeerError("PEER_UNREACHABLE", `peer ${peer} unreachable (${code})`, peer, { cause: err });
  }
  return new PeerError("PEER_PROTOCOL", `peer ${peer} failed (${code ?? String(err)})`, peer, { cause: err });
}

/**
 * The body into one buffer of exactly `length` bytes. Flowing 'data' events rather than async
 * iteration: a pull moves thousands of blocks per second through here, and the iterator's per-chunk
 * promises showed up in profiles.
 */
function readExactly(
  body: Readable,
  length: number,
  peer: PeerId,
  context: FetchContext | undefined,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const out = Buffer.allocUnsafeSlow(length);
    let filled = 0;
    body.on("data", (chunk: Buffer) => {
      if (filled + chunk.byteLength > length) {
        body.destroy();
        reject(new PeerError("PEER_PROTOCOL", `peer ${peer} sent more than ${length} bytes`, peer));
        return;
      }
      chunk.copy(out, filled);
      filled += chunk.byteLength;
      context?.progress(chunk.byteLength);
    });
    body.once("error", reject);
    body.once("end", () => {
      if (filled === length) resolve(out);
      else reject(new PeerError("PEER_PROTOCOL", `peer ${peer} sent ${filled} of ${length} bytes`, peer));
    });
  });
}

export class PeerClient {
  readonly #agent: Agent;

  constructor(opts: PeerClientOptions) {
    this.#agent = new Agent({
      connect: { timeout: opts.connectTimeoutMs },
      headersTimeout: opts.transferTimeoutMs,
      bodyTimeout: opts.transferTimeoutMs,
      keepAliveTimeout: 30_000,
    });
  }

  async fetchBlock(
    peer: PeerId,
    req: PeerBlockRequest,
    ticket: string,
    signal: AbortSignal,
    context?: FetchContext,
  ): Promise<Uint8Array> {
    const length = blockLength(req);
    try {
      // Origin and path given apart: no URL parse per block.
      const res = await this.#agent.request({
        origin: `http://${peer}`,
        path: formatBlockPath(req),
        method: "GET",
        headers: { authorization: `${TICKET_SCHEME} ${ticket}` },
        signal,
      });
      if (res.statusCode !== 200) {
        const text = await res.body.text().catch(() => "");
        const code = STATUS_CODES[res.statusCode] ?? "PEER_PROTOCOL";
        throw new PeerError(code, `peer ${peer} answered ${res.statusCode} ${text.slice(0, 100)}`, peer);
      }
      return await readExactly(res.body, length, peer, context);
    } catch (err) {
      throw classify(err, peer, signal);
    }
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}
