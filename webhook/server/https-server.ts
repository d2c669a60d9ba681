/**
 * The webhook's HTTPS server (express): POST /mutate, GET /healthz, /readyz, /metrics. It only moves
 * bytes: the body is read raw under a size limit and handed to handleReview; every refusal is a 4xx
 * with a JSON body naming what was wrong.
 */
import { once } from "node:events";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import express, { type NextFunction, type Request, type Response } from "express";
import type { AdmissionDeps } from "../admission/admit-pod.ts";
import { AdmissionInputError, encodeInputError } from "../admission/admission-review.ts";
import { handleReview } from "../admission/handle-review.ts";
import type { WebhookMetrics } from "../metrics/webhook-metrics.ts";

/** How long close() lets requests in flight finish before cutting their connections. */
const CLOSE_GRACE_MS = 10_000;

export interface Readiness {
  readonly ready: boolean;
  readonly detail: Readonly<Record<string, string>>;
}

export interface WebhookServerOptions {
  readonly host: string;
  readonly port: number;
  readonly certPem: string;
  readonly keyPem: string;
  readonly maxBodyBytes: number;
  readonly deps: AdmissionDeps;
  readonly metrics: WebhookMetrics;
  /** `exclude`: checks named in `/readyz?exclude=NAME[,NAME]` that must not make the answer 503. */
  readonly readiness: (exclude: ReadonlySet<string>) => Promise<Readiness>;
}

export interface RunningServer {
  readonly server: Server;
  readonly port: number;
  /** `https://HOST:PORT` as a client on this machine would dial it. */
  readonly url: string;
  close(): Promise<void>;
}

export function createWebhookApp(options: WebhookServerOptions): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  const { deps, metrics } = options;

  app.post(
    "/mutate",
    (req: Request, _res: Response, next: NextFunction) => {
      const type = req.headers["content-type"] ?? "";
      if (!/^application\/json\b/i.test(type)) {
        next(
          new AdmissionInputError(
            "UNSUPPORTED_MEDIA_TYPE",
            `Content-Type is ${JSON.stringify(type)}, expected application/json`,
          ),
        );
        return;
      }
      next();
    },
    express.raw({ type: () => true, limit: options.maxBodyBytes }),
    async (req: Request, res: Response) => {
      const body = Buffer.isBuffer(req.body) ? req.body.toString("utf8") : "";
      const answer = await handleReview(body, deps, metrics);
      res.status(answer.status).json(answer.body);
    },
  );
  app.get("/healthz", (_req, res) => {
    res.type("text/plain").send("ok\n");
  });
  app.get("/readyz", async (req, res) => {
    const r = await options.readiness(excludedChecks(req.query["exclude"]));
    res.status(r.ready ? 200 : 503).json(r);
  });
  app.get("/metrics", async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.use((req, res) => {
    res.status(404).json({ error: { code: "NOT_FOUND", message: `no route ${req.method} ${req.path}` } });
  });
  // Body-reading failures (too large, bad encoding, aborted) and refusals above end here.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const input = toInputError(err, options.maxBodyBytes);
    if (input) {
      metrics.errors.inc({ code: input.code });
      metrics.admissions.inc({ result: "rejected" });
      res.status(input.status).json(encodeInputError(input));
      return;
    }
    metrics.errors.inc({ code: "INTERNAL" });
    deps.logger.error({ err }, "request failed");
    res.status(500).json({ error: { code: "INTERNAL", message: "internal error (see the webhook's log)" } });
  });
  return app;
}

export async function startWebhookServer(options: WebhookServerOptions): Promise<RunningServer> {
  const app = createWebhookApp(options);
  const server = createServer({ cert: options.certPem, key: options.keyPem }, app);
  // The apiserver keeps connections to webhooks open; outlive its idle timeout rather than race it.
  server.keepAliveTimeout = 75_000;
  server.headersTimeout = 80_000;
  server.requestTimeout = 30_000;
  server.listen(options.port, options.host);
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  const dialHost = options.host === "0.0.0.0" || options.host === "::" ? "127.0.0.1" : options.host;
  return {
    server,
    port,
    url: `https://${dialHost.includes(":") ? `[${dialHost}]` : dialHost}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        // Admissions in flight finish (the apiserver gives them at most timeoutSeconds); a connection
        // still open after that is cut so shutdown stays within the pod's grace period.
        const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        force.unref();
        server.close((err) => {
          clearTimeout(force);
          if (err) reject(err);
          else resolve();
        });
        server.closeIdleConnections();
      }),
  };
}

/** `?exclude=a,b` or `?exclude=a&exclude=b` (as kube-apiserver's /readyz takes it). */
function excludedChecks(value: unknown): ReadonlySet<string> {
  const values = Array.isArray(value) ? value : [value];
  return new Set(values.flatMap((v) => (typeof v === "string" ? v.split(",").map((s) => s.trim()) : [])));
}

function toInputError(err: unknown, limit: number): AdmissionInputError | undefined {
  if (err instanceof AdmissionInputError) return err;
  const type = (err as { type?: unknown } | null)?.type;
  if (type === "entity.too.large")
    return new AdmissionInputError("BODY_TOO_LARGE", `body is larger than ${limit} bytes`);
  if (type === "encoding.unsupported" || type === "charset.unsupported") {
    return new AdmissionInputError("UNSUPPORTED_MEDIA_TYPE", (err as Error).message);
  }
  if (type === "request.aborted" || type === "request.size.invalid" || type === "stream.encoding.set") {
    return new AdmissionInputError("BODY_NOT_JSON", (err as Error).message);
  }
  // Any other refusal of the body reader (a Content-Encoding the bytes do not match, a truncated
  // compressed body) is the sender's: body-parser marks those with a 4xx status.
  const status = (err as { status?: unknown } | null)?.status;
  if (typeof status === "number" && status >= 400 && status < 500) {
    const reason = err instanceof Error ? err.message : String(err);
    return new AdmissionInputError("BODY_UNREADABLE", `body could not be decoded: ${reason}`);
  }
  return undefined;
}
