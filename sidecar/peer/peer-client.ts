/**
 * Asks one peer for one block over HTTP/1.1 keep-alive (undici). Every failure becomes a PeerError
 * whose code says whether the peer is at fault; the body must be exactly the block's length.
 */
import { Agent, request } from "undici";
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
      const res = await request(`http://${peer}${formatBlockPath(req)}`, {
        dispatcher: this.#agent,
        headers: { authorization: `${TICKET_SCHEME} ${ticket}` },
        signal,
      });
      if (res.statusCode !== 200) {
        const text = await res.body.text().catch(() => "");
        const code = STATUS_CODES[res.statusCode] ?? "PEER_PROTOCOL";
        throw new PeerError(code, `peer ${peer} answered ${res.statusCode} ${text.slice(0, 100)}`, peer);
      }
      const out = new Uint8Array(length);
      let filled = 0;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        if (filled + chunk.byteLength > length) {
          res.body.destroy();
          throw new PeerError("PEER_PROTOCOL", `peer ${peer} sent more than ${length} bytes`, peer);
        }
        out.set(chunk, filled);
        filled += chunk.byteLength;
        context?.progress(chunk.byteLength);
      }
      if (filled !== length) {
        throw new PeerError("PEER_PROTOCOL", `peer ${peer} sent ${filled} of ${length} bytes`, peer);
      }
      return out;
    } catch (err) {
      throw classify(err, peer, signal);
    }
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}
