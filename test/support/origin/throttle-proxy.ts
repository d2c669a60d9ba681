/**
 * A counting, rate-capping, fault-injecting HTTP reverse proxy in front of the origin registry:
 * the "scarce origin" of the benchmarks and the misbehaving origin of the fault tests.
 *
 *   startThrottleProxy({target, bytesPerSec?, host?, upstreamAuth?}) -> ThrottleProxy
 *     upstreamAuth: the proxy authenticates to the origin itself (a token for the repository of each
 *     request) and drops the client's Authorization: an "object storage" mirror that serves blobs to
 *     anyone, e.g. the target of a redirect fault, like the presigned URLs ACR redirects to
 *   proxy.url / proxy.host         http://127.0.0.1:PORT / 127.0.0.1:PORT
 *   proxy.limiter.bytesPerSec      the TOTAL send cap over all connections (null = unlimited)
 *   proxy.faults.add(rule)         see proxy-faults.ts; returns a remover
 *   proxy.records                  one ProxyRecord per request, completed when the response ends
 *   proxy.bodyBytes()              response body bytes sent, all requests
 *   proxy.blobBytes(digest?)       body bytes of blob GETs (for one digest, or all)
 *   proxy.bytesByPath()            Map path -> body bytes
 *   proxy.reset()                  clears records and counters (not faults)
 *   proxy.close()
 *
 * Only response bodies are counted (that is the origin's egress); request bodies pass through.
 * The Host header is forwarded unchanged, so upload Locations the registry builds point at the proxy.
 */
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { SharedRateLimiter } from "./rate-limiter.ts";
import { FaultTable, blobDigestOf, corruptPiece, type Fault } from "./proxy-faults.ts";
import { RegistryClient, type Credentials } from "../images/registry-client.ts";

export interface ProxyRecord {
  id: number;
  method: string;
  path: string;
  range: string | null;
  digest: string | null;
  status: number;
  bytes: number;
  startedAt: number;
  durationMs: number;
  faults: Fault["kind"][];
  /** The client went away (or the connection was cut) before the body was complete. */
  aborted: boolean;
  done: boolean;
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "upgrade",
  "proxy-connection",
  "te",
]);
const PIECE = 64 * 1024;

function endToEnd(raw: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (!HOP_BY_HOP.has(raw[i]!.toLowerCase())) out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

function contentRangeStart(res: IncomingMessage): number {
  const m = /^bytes (\d+)-/.exec(String(res.headers["content-range"] ?? ""));
  return m ? Number(m[1]) : 0;
}

/** Resolves on "drain" or "close", whichever first, and removes both listeners. */
function drained(res: ServerResponse): Promise<void> {
  if (res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

export class ThrottleProxy {
  readonly limiter: SharedRateLimiter;
  readonly faults = new FaultTable();
  records: ProxyRecord[] = [];
  readonly target: URL;
  #agent = new Agent({ keepAlive: true, maxSockets: 256 });
  #server = createServer((req, res) => {
    this.#handle(req, res).catch(() => res.destroy());
  });
  #sockets = new Set<Socket>();
  #nextId = 1;
  #url = "";
  #upstreamAuth: RegistryClient | null;

  constructor(target: string, bytesPerSec: number | null, upstreamAuth?: Credentials) {
    this.target = new URL(target);
    this.limiter = new SharedRateLimiter(bytesPerSec);
    this.#upstreamAuth = upstreamAuth
      ? new RegistryClient({ baseUrl: target, credentials: upstreamAuth })
      : null;
    this.#server.on("connection", (s: Socket) => {
      this.#sockets.add(s);
      s.once("close", () => this.#sockets.delete(s));
    });
  }

  get url(): string {
    return this.#url;
  }

  get host(): string {
    return this.#url.replace(/^http:\/\//, "");
  }

  async listen(host: string): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, host, resolve));
    this.#url = `http://${host}:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    this.#agent.destroy();
    await this.#upstreamAuth?.close();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  bodyBytes(): number {
    return this.records.reduce((a, r) => a + r.bytes, 0);
  }

  blobBytes(digest?: string): number {
    return this.records
      .filter((r) => r.digest !== null && (digest === undefined || r.digest === digest))
      .reduce((a, r) => a + r.bytes, 0);
  }

  bytesByPath(): Map<string, number> {
    const out = new Map<string, number>();
    for (const r of this.records) out.set(r.path, (out.get(r.path) ?? 0) + r.bytes);
    return out;
  }

  reset(): void {
    this.records = [];
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = req.url ?? "/";
    const method = req.method ?? "GET";
    const faults = this.faults.take(method, path);
    const rec: ProxyRecord = {
      id: this.#nextId++,
      method,
      path,
      range: req.headers.range ?? null,
      digest: blobDigestOf(path),
      status: 0,
      bytes: 0,
      startedAt: Date.now(),
      durationMs: 0,
      faults: faults.map((f) => f.kind),
      aborted: false,
      done: false,
    };
    this.records.push(rec);
    const finish = () => {
      rec.durationMs = Date.now() - rec.startedAt;
      rec.done = true;
    };
    res.once("close", () => {
      if (!res.writableFinished) rec.aborted = true;
      finish();
    });

    for (const f of faults) if (f.kind === "delay") await sleep(f.ms);
    const early = faults.find((f) => f.kind === "redirect" || f.kind === "status");
    if (early?.kind === "redirect") {
      rec.status = early.status ?? 307;
      const location = early.location.replaceAll("{path}", path);
      res.writeHead(rec.status, { location, "content-length": "0" }).end();
      return;
    }
    if (early?.kind === "status") {
      rec.status = early.status;
      const body = JSON.stringify({ errors: [{ code: "UNKNOWN", message: "injected by test proxy" }] });
      res.writeHead(rec.status, { "content-type": "application/json" }).end(body);
      return;
    }

    const upstreamReq = request({
      host: this.target.hostname,
      port: this.target.port,
      method,
      path,
      headers: await this.#upstreamHeaders(req.rawHeaders, path),
      agent: this.#agent,
    });
    req.pipe(upstreamReq);
    const [upstream] = (await once(upstreamReq, "response")) as [IncomingMessage];
    // A client that leaves mid-body must not leave the origin streaming into nowhere.
    res.once("close", () => {
      if (!upstream.complete) upstream.destroy();
    });
    rec.status = upstream.statusCode ?? 502;
    res.writeHead(rec.status, upstream.statusMessage, endToEnd(upstream.rawHeaders));
    await this.#forwardBody(upstream, res, rec, faults);
  }

  async #upstreamHeaders(raw: string[], path: string): Promise<string[]> {
    const headers = endToEnd(raw);
    const repo = /^\/v2\/(.+)\/(blobs|manifests)\//.exec(path)?.[1];
    if (!this.#upstreamAuth || !repo) return headers;
    const out: string[] = [];
    for (let i = 0; i < headers.length; i += 2) {
      if (headers[i]!.toLowerCase() !== "authorization") out.push(headers[i]!, headers[i + 1]!);
    }
    const token = await this.#upstreamAuth.token(`repository:${repo}:pull`);
    if (token) out.push("authorization", `Bearer ${token}`);
    return out;
  }

  async #forwardBody(upstream: IncomingMessage, res: ServerResponse, rec: ProxyRecord, faults: Fault[]) {
    const blobStart = contentRangeStart(upstream);
    const corrupt = faults.filter((f) => f.kind === "corrupt");
    const stop = faults.find((f) => f.kind === "stall" || f.kind === "cut");
    for await (const chunk of upstream as AsyncIterable<Buffer>) {
      for (let off = 0; off < chunk.length; off += PIECE) {
        if (res.destroyed) return void upstream.destroy();
        let piece = chunk.subarray(off, off + PIECE);
        if (stop && rec.bytes + piece.length > stop.afterBytes) {
          piece = piece.subarray(0, stop.afterBytes - rec.bytes);
        }
        for (const f of corrupt) piece = corruptPiece(piece, blobStart + rec.bytes, f);
        await this.limiter.take(piece.length);
        rec.bytes += piece.length;
        if (!res.write(piece)) await drained(res);
        if (stop && rec.bytes >= stop.afterBytes) {
          upstream.destroy();
          if (stop.kind === "cut") res.destroy();
          // A stall keeps the connection open until the client gives up or the proxy closes.
          return;
        }
      }
    }
    res.end();
  }
}

export async function startThrottleProxy(opts: {
  target: string;
  bytesPerSec?: number | null;
  host?: string;
  upstreamAuth?: Credentials;
}): Promise<ThrottleProxy> {
  const proxy = new ThrottleProxy(opts.target, opts.bytesPerSec ?? null, opts.upstreamAuth);
  await proxy.listen(opts.host ?? "127.0.0.1");
  return proxy;
}
