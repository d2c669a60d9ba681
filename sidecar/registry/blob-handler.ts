/**
 * Blobs: authorized first (the registry must have granted this credential this blob in this
 * repository: a cached blob is never served on the strength of a token, or of another repository),
 * then streamed from the block engine, which releases the final bytes only once the sha256 matches. A
 * Range is served from a verified blob, or passed through to the registry.
 */
import type { ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import {
  BlobNotVerifiedError,
  type BlockEngine,
  type BlockSource,
  type SourceList,
} from "../blocks/index.ts";
import type { ClientCredential } from "../upstream/client-credential.ts";
import type { BlobTarget, UpstreamRegistry } from "../upstream/upstream-registry.ts";
import { UpstreamError } from "../upstream/upstream-error.ts";
import { resolveRange, type ResolvedRange } from "./byte-range.ts";
import { dropStalledReader, type StalledReaderWatch } from "./stalled-reader.ts";
import { writeReleasing } from "./write-releasing.ts";
import type { DistributionPath } from "./distribution-path.ts";

export type BlobPath = Extract<DistributionPath, { kind: "blob" }>;

export interface ClientSources {
  /** Where blocks come from, in order (peers when any, the origin last). */
  readonly list: SourceList;
  /** The origin with this client's credential: it settles digest mismatches. */
  readonly origin: BlockSource;
}

export interface BlobDeps {
  readonly upstream: UpstreamRegistry;
  /** How long a client may leave a blob response backed up before it is dropped (transferTimeout). */
  readonly stalledReaderMs: number;
  /** How often a whole blob still being sent is reported (a long pull shows it is moving). */
  readonly progressEveryMs: number;
  readonly report: BlobReport;
  readonly engine: Pick<BlockEngine, "streamBlob" | "readRange" | "releaseBlock">;
  /** The sources for one authorized client; `sequential` for whole-blob streams (not Range reads). */
  readonly sourcesFor: (target: Omit<BlobTarget, "digest">, sequential: boolean) => ClientSources;
}

/** What the front tells the log and the metrics about blob pulls. */
export interface BlobReport {
  /** A whole blob is still being sent: bytes handed out so far, by where they came from. */
  progress(
    path: BlobPath,
    bytes: number,
    size: number,
    from: Readonly<Record<string, number>>,
    seconds: number,
  ): void;
  /** A whole blob went to a client: its bytes by where they came from, and how long it took. */
  served(path: BlobPath, bytes: number, from: Readonly<Record<string, number>>, seconds: number): void;
  /** Blob responses whose client is not reading now (+1 when one backs up, -1 when it drains or ends). */
  backedUp(delta: 1 | -1): void;
  /** A client that stopped reading was dropped. */
  stalledReader(path: BlobPath): void;
}

/** Serves one blob request; resolves with the body bytes written. */
export async function serveBlob(
  deps: BlobDeps,
  path: BlobPath,
  method: "GET" | "HEAD",
  credential: ClientCredential,
  res: ServerResponse,
  signal: AbortSignal,
): Promise<number> {
  const started = performance.now();
  const target: BlobTarget = { credential, host: path.host, repo: path.repo, digest: path.digest };
  const { size } = await deps.upstream.authorizeBlob(target, signal);
  res.setHeader("docker-content-digest", path.digest);
  res.setHeader("accept-ranges", "bytes");
  res.setHeader("content-type", "application/octet-stream");

  if (method === "HEAD") {
    res.statusCode = 200;
    res.setHeader("content-length", size);
    res.end();
    return 0;
  }
  const sources = deps.sourcesFor(target, path.range === undefined);
  try {
    if (path.range !== undefined) {
      return await serveRange(deps, target, size, sources, resolveRange(path.range, size), res, {
        signal,
        watch: stalledReaderWatch(deps, path),
      });
    }
    const from: Record<string, number> = {};
    const stream = deps.engine.streamBlob({ digest: path.digest, size }, sources.list, {
      authoritative: sources.origin,
      signal,
      onBlock: (source, bytes) => (from[source] = (from[source] ?? 0) + bytes),
    });
    const seconds = () => (performance.now() - started) / 1000;
    const progress = setInterval(() => {
      const bytes = Object.values(from).reduce((sum, b) => sum + b, 0);
      deps.report.progress(path, bytes, size, { ...from }, seconds());
    }, deps.progressEveryMs);
    progress.unref();
    let sent: number;
    try {
      sent = await sendStream(stream, res, 200, size, stalledReaderWatch(deps, path), deps.engine);
    } finally {
      clearInterval(progress);
    }
    deps.report.served(path, sent, from, seconds());
    return sent;
  } catch (err) {
    // The size came from the registry's HEAD and is trusted only while bytes verify with it: after a
    // failed read the next request asks the registry again.
    if (!signal.aborted) deps.upstream.forgetBlob(target);
    throw err;
  }
}

async function serveRange(
  deps: BlobDeps,
  target: BlobTarget,
  size: number,
  sources: ClientSources,
  range: ResolvedRange,
  res: ServerResponse,
  { signal, watch }: { signal: AbortSignal; watch: StalledReaderWatch },
): Promise<number> {
  const length = range.end - range.start + 1;
  res.setHeader("content-range", `bytes ${range.start}-${range.end}/${size}`);
  let stream: Readable;
  try {
    stream = deps.engine.readRange({ digest: target.digest, size }, range.start, range.end, sources.list, {
      authoritative: sources.origin,
      signal,
    });
  } catch (err) {
    if (!(err instanceof BlobNotVerifiedError)) throw err;
    // Unverified bytes are never released: the registry answers the range itself.
    const upstream = await deps.upstream.rangeGet(target, range.start, range.end, signal);
    const whole = upstream.statusCode === 200 && length === size;
    const contentRange = upstream.headers["content-range"];
    if (
      !whole &&
      (upstream.statusCode !== 206 || contentRange !== `bytes ${range.start}-${range.end}/${size}`)
    ) {
      await upstream.body.dump().catch(() => undefined);
      throw new UpstreamError(
        "UPSTREAM_PROTOCOL",
        `registry answered the range with ${upstream.statusCode} ${String(contentRange)}`,
      );
    }
    stream = upstream.body;
  }
  return sendStream(stream, res, 206, length, watch, deps.engine);
}

function stalledReaderWatch(deps: BlobDeps, path: BlobPath): StalledReaderWatch {
  return {
    ms: deps.stalledReaderMs,
    backedUp: (delta) => deps.report.backedUp(delta),
    dropped: () => deps.report.stalledReader(path),
  };
}

/**
 * Waits for the first bytes (or the end) before sending headers, so an error that happens before any
 * byte is ready still becomes a proper OCI error; after that, an error cuts the connection, and with
 * Content-Length set the client sees a short body, never a complete wrong one.
 */
async function sendStream(
  stream: Readable,
  res: ServerResponse,
  status: number,
  length: number,
  watch: StalledReaderWatch,
  engine: Pick<BlockEngine, "releaseBlock">,
): Promise<number> {
  try {
    await firstReadable(stream);
  } catch (err) {
    stream.destroy();
    throw err;
  }
  res.statusCode = status;
  res.setHeader("content-length", length);
  let sent = 0;
  stream.on("data", (chunk: Uint8Array) => {
    sent += chunk.length;
  });
  const stopWatching = dropStalledReader(res, watch);
  try {
    // Chunks of the engine's streams are block leases: each goes back once the socket has it.
    await writeReleasing(stream, res, (chunk) => engine.releaseBlock(chunk));
  } finally {
    stopWatching();
  }
  return sent;
}

function firstReadable(stream: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      stream.off("readable", onReadable);
      stream.off("end", onEnd);
      stream.off("error", onError);
      if (err) reject(err);
      else resolve();
    };
    const onReadable = (): void => done();
    const onEnd = (): void => done();
    const onError = (err: Error): void => done(err);
    if (stream.readableLength > 0 || stream.readableEnded) return resolve();
    stream.once("readable", onReadable);
    stream.once("end", onEnd);
    stream.once("error", onError);
  });
}
