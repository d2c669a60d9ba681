/**
 * One keep-alive HTTP/1.1 connection to a peer's block server, one request at a time.
 *
 * Why not a general HTTP client: a pull moves thousands of blocks per second between peers, and with
 * one the bytes of every block were read into fresh 64 KiB socket buffers, copied into the block's
 * buffer and left to the garbage collector, which then dominated the sidecar's CPU time. Here the
 * socket reads (net.Socket `onread`, the read target chosen before every read) go into a small head
 * buffer until the response head is complete and then straight into the block's own buffer: no
 * per-read allocation, no copy of the body.
 *
 * Every failure becomes a PeerError whose code says whose fault it is.
 */
import { connect, isIP } from "node:net";
import type { Socket } from "node:net";
import { PeerError } from "./peer-error.ts";
import { peerHost, type PeerId } from "./peer-view.ts";
import { parseResponseHead, ResponseHeadError } from "./response-head.ts";
import type { ResponseHead } from "./response-head.ts";

/** Our peers send a head of about 200 bytes; anything near this limit is not one of them. */
const HEAD_LIMIT = 8 * 1024;
/** Error answers carry a short JSON code; a longer body is cut here and the connection dropped. */
const ERROR_BODY_LIMIT = 4 * 1024;
const HEAD_END = Buffer.from("\r\n\r\n");
const UNREACHABLE_CODES = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL"]);

export interface ConnectionOptions {
  readonly connectTimeoutMs: number;
  /** Longest wait for the next byte of an answer; also how long an idle connection is kept. */
  readonly transferTimeoutMs: number;
  /** Called once, when the connection is gone (closed by either side, or failed). */
  readonly onClose: (connection: PeerConnection) => void;
  /** The address to connect from (this sidecar's pod IP) where it can reach the peer (bindAddress). */
  readonly localAddress?: string;
}

/** The request in flight: where its body goes and how it ends. */
interface Exchange {
  /** The caller's buffer; a 200 answer must fill it exactly. */
  readonly target: Uint8Array;
  readonly onProgress: ((bytes: number) => void) | undefined;
  readonly signal: AbortSignal;
  readonly onAbort: () => void;
  resolve(): void;
  reject(err: PeerError): void;
  head: ResponseHead | undefined;
  /** Body of an error answer (status other than 200), kept for the message. */
  errorBody: Buffer | undefined;
  /** Body bytes received so far. */
  filled: number;
  /** Bytes arrived beyond the answer: the connection is out of step and must not be reused. */
  outOfStep: boolean;
}

/**
 * The local address a connection to `host` is made from: `local` (the pod IP) when it can reach that
 * host, else undefined (the system's choice). It cannot when the families differ, when one is a
 * loopback address and the other is not, or when the host is a name (its address is not known yet).
 */
export function bindAddress(local: string | undefined, host: string): string | undefined {
  if (local === undefined) return undefined;
  const family = isIP(host);
  if (family === 0 || family !== isIP(local)) return undefined;
  return isLoopback(local) === isLoopback(host) ? local : undefined;
}

function isLoopback(address: string): boolean {
  return address.startsWith("127.") || address === "::1";
}

/** `host` for net.connect and `port` of a peer id (`ip:port`, `[v6]:port` or `name:port`). */
function hostAndPort(peer: PeerId): { host: string; port: number } {
  return { host: peerHost(peer), port: Number(peer.slice(peer.lastIndexOf(":") + 1)) };
}

export class PeerConnection {
  readonly peer: PeerId;
  readonly #socket: Socket;
  readonly #opts: ConnectionOptions;
  readonly #head = Buffer.allocUnsafe(HEAD_LIMIT);
  #headFilled = 0;
  #exchange: Exchange | undefined;
  /** Requests answered on this connection (0: it was never used, so a failure is not a stale reuse). */
  #answered = 0;
  /** Any byte of the current answer received (after that, a failure is not retried elsewhere). */
  #answerStarted = false;
  #connected = false;
  #connectTimer: NodeJS.Timeout | undefined;
  #failure: PeerError | undefined;
  #lastError: Error | undefined;
  #closed = false;

  constructor(peer: PeerId, opts: ConnectionOptions) {
    this.peer = peer;
    this.#opts = opts;
    const target = hostAndPort(peer);
    const localAddress = bindAddress(opts.localAddress, target.host);
    this.#socket = connect({
      ...target,
      ...(localAddress !== undefined && { localAddress }),
      noDelay: true,
      onread: { buffer: () => this.#nextReadTarget(), callback: (n: number) => this.#onRead(n) },
    });
    this.#socket.setTimeout(opts.transferTimeoutMs);
    this.#connectTimer = setTimeout(() => {
      this.#fail(
        new PeerError(
          "PEER_UNREACHABLE",
          `peer ${peer} did not accept within ${opts.connectTimeoutMs} ms`,
          peer,
        ),
      );
    }, opts.connectTimeoutMs);
    this.#socket.once("connect", () => {
      this.#connected = true;
      clearTimeout(this.#connectTimer);
    });
    this.#socket.on("timeout", () => {
      if (this.#exchange) {
        this.#fail(new PeerError("PEER_TIMEOUT", `peer ${peer} sent nothing for too long`, peer));
      } else {
        this.#socket.destroy(); // idle for a transferTimeout: let it go
      }
    });
    this.#socket.on("error", (err) => {
      this.#lastError = err;
    });
    this.#socket.once("close", () => this.#onClose());
  }

  /** Connected or connecting, with no request in flight (and not being closed after its last one). */
  get idle(): boolean {
    return !this.#closed && !this.#socket.destroyed && this.#exchange === undefined;
  }

  /** Whether this connection already answered a request (a failure on reuse may just be staleness). */
  get reused(): boolean {
    return this.#answered > 0;
  }

  /** Whether the current (or last) request got any byte of an answer. */
  get answerStarted(): boolean {
    return this.#answerStarted;
  }

  /**
   * GET `path` and read a 200 answer's body into `target`, which it must fill exactly. Rejects with a
   * PeerError for any other outcome; the connection is closed unless it can carry the next request.
   */
  get(
    path: string,
    authorization: string,
    target: Uint8Array,
    signal: AbortSignal,
    onProgress?: (bytes: number) => void,
  ): Promise<void> {
    if (!this.idle) {
      return Promise.reject(
        new PeerError("PEER_PROTOCOL", `connection to ${this.peer} is busy or closed`, this.peer),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => this.#fail(new PeerError("PEER_ABORTED", "block request aborted", this.peer));
      this.#exchange = {
        target,
        onProgress,
        signal,
        onAbort,
        resolve,
        reject,
        head: undefined,
        errorBody: undefined,
        filled: 0,
        outOfStep: false,
      };
      this.#answerStarted = false;
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      this.#socket.write(
        `GET ${path} HTTP/1.1\r\nhost: ${this.peer}\r\nauthorization: ${authorization}\r\n\r\n`,
        "latin1",
      );
    });
  }

  destroy(): void {
    this.#socket.destroy();
  }

  /** Where the next socket read lands: the block's buffer once the head is in, else the head buffer. */
  #nextReadTarget(): Uint8Array {
    const exchange = this.#exchange;
    if (exchange?.head) {
      const body = exchange.errorBody ?? exchange.target;
      if (exchange.filled < body.byteLength) return body.subarray(exchange.filled);
    }
    return this.#head.subarray(this.#headFilled);
  }

  /**
   * `n` bytes were read into the target #nextReadTarget chose. Never throws (it runs in a socket
   * callback); returns true to keep reading.
   */
  #onRead(n: number): boolean {
    try {
      const exchange = this.#exchange;
      if (!exchange)
        throw new PeerError("PEER_PROTOCOL", `peer ${this.peer} sent bytes nobody asked for`, this.peer);
      this.#answerStarted = true;
      if (exchange.head) {
        exchange.filled += n;
        if (!exchange.errorBody) exchange.onProgress?.(n);
      } else {
        this.#headFilled += n;
        this.#takeHead(exchange);
      }
      if (exchange.head && exchange.filled === (exchange.errorBody ?? exchange.target).byteLength) {
        this.#finish(exchange);
      }
    } catch (err) {
      this.#fail(
        err instanceof PeerError
          ? err
          : new PeerError("PEER_PROTOCOL", `peer ${this.peer}: ${String(err)}`, this.peer, { cause: err }),
      );
    }
    return true;
  }

  /** Parses the head once it is complete and moves the body bytes read with it into the body buffer. */
  #takeHead(exchange: Exchange): void {
    const received = this.#head.subarray(0, this.#headFilled);
    const end = received.indexOf(HEAD_END);
    if (end < 0) {
      if (this.#headFilled === HEAD_LIMIT) {
        throw new PeerError(
          "PEER_PROTOCOL",
          `peer ${this.peer} sent a response head over ${HEAD_LIMIT} bytes`,
          this.peer,
        );
      }
      return;
    }
    let head: ResponseHead;
    try {
      head = parseResponseHead(received.toString("latin1", 0, end));
    } catch (err) {
      if (err instanceof ResponseHeadError) {
        throw new PeerError("PEER_PROTOCOL", `peer ${this.peer} sent ${err.message}`, this.peer);
      }
      throw err;
    }
    const length = exchange.target.byteLength;
    if (head.status === 200 && head.contentLength !== length) {
      throw new PeerError(
        "PEER_PROTOCOL",
        `peer ${this.peer} announced ${head.contentLength ?? "no"} bytes for a block of ${length}`,
        this.peer,
      );
    }
    if (head.status !== 200) {
      exchange.errorBody = Buffer.allocUnsafe(
        Math.min(head.contentLength ?? ERROR_BODY_LIMIT, ERROR_BODY_LIMIT),
      );
    }
    exchange.head = head;
    const body = exchange.errorBody ?? exchange.target;
    const extra = received.subarray(end + HEAD_END.byteLength);
    if (head.status === 200 && extra.byteLength > length) {
      throw new PeerError("PEER_PROTOCOL", `peer ${this.peer} sent more than ${length} bytes`, this.peer);
    }
    const taken = Math.min(extra.byteLength, body.byteLength);
    body.set(extra.subarray(0, taken));
    exchange.filled = taken;
    this.#headFilled = 0;
    if (head.status === 200) exchange.onProgress?.(taken);
    exchange.outOfStep = taken < extra.byteLength;
  }

  /** The answer is complete: settle the request, and keep the connection only if it is clean. */
  #finish(exchange: Exchange): void {
    const head = exchange.head as ResponseHead;
    this.#exchange = undefined;
    this.#answered++;
    exchange.signal.removeEventListener("abort", exchange.onAbort);
    const truncated = exchange.errorBody !== undefined && (head.contentLength ?? Infinity) > exchange.filled;
    if (head.close || truncated || exchange.outOfStep) this.#socket.destroy();
    if (!exchange.errorBody) return exchange.resolve();
    const text = exchange.errorBody.toString("utf8", 0, Math.min(exchange.filled, 100));
    exchange.reject(statusError(head.status, `peer ${this.peer} answered ${head.status} ${text}`, this.peer));
  }

  /** Ends the request in flight with `err` and drops the connection. */
  #fail(err: PeerError): void {
    this.#failure ??= err;
    this.#socket.destroy();
  }

  #onClose(): void {
    this.#closed = true;
    clearTimeout(this.#connectTimer);
    const exchange = this.#exchange;
    this.#exchange = undefined;
    if (exchange) {
      exchange.signal.removeEventListener("abort", exchange.onAbort);
      // An error answer without a length runs to the end of the connection.
      if (
        exchange.head &&
        exchange.errorBody &&
        exchange.head.contentLength === undefined &&
        !this.#failure
      ) {
        exchange.head = { ...exchange.head, contentLength: exchange.filled };
        this.#finish(exchange);
      } else {
        exchange.reject(this.#failure ?? this.#closedError(exchange));
      }
    }
    this.#opts.onClose(this);
  }

  #closedError(exchange: Exchange): PeerError {
    const code = (this.#lastError as NodeJS.ErrnoException | undefined)?.code;
    if (!this.#connected) {
      const reason = code ?? "closed";
      const peerCode =
        code === undefined || UNREACHABLE_CODES.has(code) ? "PEER_UNREACHABLE" : "PEER_PROTOCOL";
      return new PeerError(peerCode, `peer ${this.peer} unreachable (${reason})`, this.peer, {
        cause: this.#lastError,
      });
    }
    const what = exchange.head
      ? `after ${exchange.filled} of ${(exchange.errorBody ?? exchange.target).byteLength} bytes`
      : "before answering";
    return new PeerError(
      "PEER_PROTOCOL",
      `peer ${this.peer} closed the connection ${what}${code ? ` (${code})` : ""}`,
      this.peer,
      { cause: this.#lastError },
    );
  }
}

const STATUS_CODES: Record<number, PeerError["peerCode"]> = {
  401: "PEER_REFUSED",
  404: "PEER_UNAVAILABLE",
  502: "PEER_ORIGIN_FAILED",
  503: "PEER_BUSY",
};

function statusError(status: number, message: string, peer: PeerId): PeerError {
  return new PeerError(STATUS_CODES[status] ?? "PEER_PROTOCOL", message, peer);
}
