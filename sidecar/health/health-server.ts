/**
 * Health, readiness and metrics on <podIP>:<healthPort> (kubelet probes go to the pod IP).
 * Readiness looks at local state only (listeners up, cache usable), never at the registry or the
 * directory: the app's images are pulled only once this sidecar is ready, and a remote outage must not
 * keep every pod from starting (the sidecar falls back to the registry anyway).
 */
import { createServer, type Server } from "node:http";
import type { SidecarMetrics } from "../metrics/sidecar-metrics.ts";

export interface ReadinessCheck {
  readonly name: string;
  /** undefined when fine, else why not. */
  check(): string | undefined;
}

export function createHealthServer(metrics: SidecarMetrics, checks: readonly ReadinessCheck[]): Server {
  return createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
      return;
    }
    if (path === "/readyz") {
      const failing = checks.flatMap((c) => {
        const why = c.check();
        return why === undefined ? [] : [`${c.name}: ${why}`];
      });
      res
        .writeHead(failing.length === 0 ? 200 : 503, { "content-type": "text/plain" })
        .end(failing.length === 0 ? "ready\n" : `not ready\n${failing.join("\n")}\n`);
      return;
    }
    if (path === "/metrics") {
      metrics.render().then(
        ({ contentType, body }) => res.writeHead(200, { "content-type": contentType }).end(body),
        (err: unknown) =>
          res.writeHead(500, { "content-type": "text/plain" }).end(`metrics failed: ${String(err)}\n`),
      );
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
  });
}
