/**
 * The peer wire protocol, in one place for both ends:
 *
 *   GET /v1/blocks/<digest>/<index>?host=<registry host>&repo=<repository>&size=<blob size>&bs=<block size>[&cached=1]
 *   Authorization: P2P-Ticket <peer ticket>
 *
 * 200 with exactly the block's bytes, or an error status with `{"code": ...}`. The request names the
 * registry and repository so the owner can fetch a block it lacks with its own credential for that
 * repository; nothing in it is a credential for the registry. `cached=1` asks for the block only if
 * the peer holds it already (404 otherwise, never a registry fetch): how an owner asks the block's
 * previous owner before the registry (peer-source.ts).
 */
import { isValidDigest, isValidRepositoryPath } from "../../contract/image-reference.ts";

export const TICKET_SCHEME = "P2P-Ticket";

export interface PeerBlockRequest {
  /** Registry host (`host[:port]`, canonical). */
  readonly host: string;
  readonly repo: string;
  readonly digest: string;
  readonly blobSize: number;
  readonly blockSize: number;
  readonly index: number;
  /** Only from the peer's cache: it must not fetch the block from the registry. */
  readonly cachedOnly?: boolean;
}

export function blockOffset(req: PeerBlockRequest): number {
  return req.index * req.blockSize;
}

export function blockLength(req: PeerBlockRequest): number {
  return Math.min(req.blockSize, req.blobSize - req.index * req.blockSize);
}

/** Query strings of recent blobs: every block of a blob carries the same one. */
const queries = new Map<string, string>();

export function formatBlockPath(req: PeerBlockRequest): string {
  const cached = req.cachedOnly === true;
  const key = `${req.host}\n${req.repo}\n${req.blobSize}\n${req.blockSize}\n${cached}`;
  let query = queries.get(key);
  if (query === undefined) {
    query = new URLSearchParams({
      host: req.host,
      repo: req.repo,
      size: String(req.blobSize),
      bs: String(req.blockSize),
      ...(cached && { cached: "1" }),
    }).toString();
    if (queries.size >= 256) queries.clear();
    queries.set(key, query);
  }
  return `/v1/blocks/${req.digest}/${req.index}?${query}`;
}

const PATH_RE = /^\/v1\/blocks\/([a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+)\/(\d{1,9})$/;
const HOST_RE = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?$/;

function intParam(q: URLSearchParams, name: string): number | undefined {
  const text = q.get(name);
  if (text === null || !/^\d{1,16}$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Parses a request target into a checked block request, or undefined when anything is off. */
export function parseBlockPath(target: string): PeerBlockRequest | undefined {
  const url = new URL(target, "http://peer");
  const m = PATH_RE.exec(url.pathname);
  if (!m) return undefined;
  const digest = m[1] as string;
  const index = Number(m[2]);
  const host = url.searchParams.get("host");
  const repo = url.searchParams.get("repo");
  const blobSize = intParam(url.searchParams, "size");
  const blockSize = intParam(url.searchParams, "bs");
  // Blocks are verified with sha256 only, as blobs are: another algorithm is a bad request.
  if (!isValidDigest(digest) || !digest.startsWith("sha256:")) return undefined;
  if (host === null || !HOST_RE.test(host) || repo === null) return undefined;
  if (!isValidRepositoryPath(repo) || blobSize === undefined || blockSize === undefined || blockSize < 1)
    return undefined;
  if (index * blockSize >= blobSize) return undefined;
  const cached = url.searchParams.get("cached");
  if (cached !== null && cached !== "1") return undefined;
  return { host, repo, digest, blobSize, blockSize, index, ...(cached === "1" && { cachedOnly: true }) };
}

export function ticketFromHeader(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const prefix = `${TICKET_SCHEME} `;
  return header.startsWith(prefix) ? header.slice(prefix.length).trim() : undefined;
}
