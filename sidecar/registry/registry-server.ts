/**
 * The registry front: the pull half of the OCI Distribution API on 127.0.0.1:<port>, for the paths
 * the webhook rewrites images to (`/v2/<encoded host>/<repository>/...`). Each request is parsed into
 * a DistributionPath first; errors are rendered in one place. node:http rather than express: the
 * front only streams, and every layer between the engine and the socket costs throughput.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Logger } from "../../lib/logger.ts";
import type { SidecarMetrics } from "../metrics/sidecar-metrics.ts";
import { ANONYMOUS, credentialFromHeader } from "../upstream/client-credential.ts";
import type { UpstreamRegistry } from "../upstream/upstream-registry.ts";
import { serveBlob, type BlobDeps } from "./blob-handler.ts";
import { parseDistributionPath, type DistributionPath } from "./distribution-path.ts";
import { serveListing } from "./listing-handler.ts";
import { serveManifest } from "./manifest-handler.ts";
import { OciError, renderOciError, unauthorized } from "./oci-error.ts";
import { isAbort } from "../../lib/coded-error.ts";
import { toOciError, type SubjectKind } from "./to-oci-error.ts";

export interface RegistryFrontDeps extends BlobDeps {
  readonly servedHosts: ReadonlySet<string>;
  readonly upstream: UpstreamRegistry;
  readonly metrics: SidecarMetrics;
  readonly logger: Logger;
}

export function createRegistryServer(deps: RegistryFrontDeps): Server {
  const server = createServer(
    { keepAlive: true, requestTimeout: 0, highWaterMark: 1024 * 1024 },
    (req, res) => {
      void handle(deps, req, res);
    },
  );
  // Streams of large blobs run long: only idle keep-alive sockets time out.
  server.headersTimeout = 60_000;
  return server;
}

async function handle(deps: RegistryFrontDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = process.hrtime.bigint();
  const method = req.method ?? "GET";
  let kind: SubjectKind = "ping";
  const abort = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) abort.abort();
  });
  res.setHeader("docker-distribution-api-version", "registry/2.0");
  deps.metrics.inFlight.inc({ kind: "all" });
  let sent = 0;
  try {
    const path = parseDistributionPath(
      { method, url: req.url ?? "/", rangeHeader: header(req, "range") },
      deps.servedHosts,
    );
    kind = path.kind;
    sent = await route(deps, path, req, res, abort.signal);
  } catch (err) {
    if (isAbort(err) && abort.signal.aborted) {
      res.destroy();
    } else {
      const oci = toOciError(err, kind);
      deps.metrics.errors.inc({ code: oci.code });
      if (oci.code === "INTERNAL_ERROR") deps.logger.error({ err, method, url: req.url }, "internal error");
      else
        deps.logger.warn(
          { code: oci.code, error: oci.message, cause: describeCause(err), method, url: req.url },
          "request failed",
        );
      renderOciError(res, oci, method);
    }
  } finally {
    deps.metrics.inFlight.dec({ kind: "all" });
    deps.metrics.servedBytes.inc({ kind }, sent);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    deps.metrics.requestSeconds.observe({ kind, method, status: String(res.statusCode) }, seconds);
  }
}

async function route(
  deps: RegistryFrontDeps,
  path: DistributionPath,
  req: IncomingMessage,
  res: ServerResponse,
  signal: AbortSignal,
): Promise<number> {
  const method = req.method === "HEAD" ? "HEAD" : "GET";
  const credential = credentialFromHeader(header(req, "authorization"));
  if (credential === undefined) throw unauthorized("only Basic credentials are accepted");
  switch (path.kind) {
    case "ping":
      // Answering the ping with a Basic challenge is what makes clients send the pod's credentials.
      // Every pull starts so: the protocol working, answered here rather than thrown, so it is not
      // counted or logged as an error.
      if (credential === ANONYMOUS) {
        renderOciError(res, unauthorized("authentication required"), method);
        return 0;
      }
      res.statusCode = 200;
      res.setHeader("content-type", "application/json");
      res.end(method === "HEAD" ? undefined : "{}");
      return 0;
    case "manifest":
      return serveManifest(deps.upstream, path, method, header(req, "accept"), credential, res, signal);
    case "blob":
      return serveBlob(deps, path, method, credential, res, signal);
    case "tags":
    case "referrers":
      return serveListing(deps.upstream, path, method, credential, res, signal);
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(", ") : v;
}

/** The underlying reason, for the log only (the client sees the OCI error). */
function describeCause(err: unknown): string | undefined {
  const cause = err instanceof OciError ? err.cause : err;
  if (cause === undefined) return undefined;
  return cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
}
