/**
 * The peer directory of the controller, assembled: cluster watch -> state -> HTTP(S) API. The
 * controller's command calls startPeerDirectory with its kubeconfig and serving certificate and closes
 * it on shutdown.
 */
import { createServer as createHttpServer } from "node:http";
import { createServer as createHttpsServer, Server as HttpsServer } from "node:https";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import type { NextFunction, Request, Response } from "express";
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "../../lib/logger.ts";
import { startClusterWatch } from "./cluster-watch.ts";
import { directoryRouter } from "./directory-api.ts";
import { DirectoryState } from "./directory-state.ts";
import { TokenReviewAuthenticator } from "./peer-authenticator.ts";
import type { PeerAuthenticator } from "./peer-authenticator.ts";
import type { PeerRules } from "./ready-peer.ts";
import type { TicketIssuer } from "./ticket-issuer.ts";

export interface PeerDirectoryOptions {
  readonly kubeConfig: KubeConfig;
  readonly host: string;
  readonly port: number;
  /** PEM serving key and certificate; plain HTTP without them (tests only). */
  readonly tls?: { readonly key: string; readonly cert: string };
  readonly rules: PeerRules;
  readonly issuer: TicketIssuer;
  readonly logger: Logger;
  /** Defaults to TokenReview against the same apiserver. */
  readonly authenticator?: PeerAuthenticator;
  readonly maxWaitSeconds?: number;
  /** See ClusterWatchOptions.onList. */
  readonly onList?: (resource: string) => void;
}

export interface PeerDirectory {
  readonly address: AddressInfo;
  readonly state: DirectoryState;
  /** Serves a renewed certificate to new connections (the controller reloads it from its Secret). */
  reloadTls(tls: { readonly key: string; readonly cert: string }): void;
  close(): Promise<void>;
}

/** The express app of the directory: /v1/peers and /healthz (ready once every informer listed). */
export function directoryApp(router: express.Router, state: DirectoryState, logger: Logger): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.get("/healthz", (_req, res) => {
    res.status(state.synced ? 200 : 503).json({ synced: state.synced });
  });
  app.use(router);
  app.use((_req, res) => {
    res.status(404).json({ code: "NOT_FOUND" });
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    logger.error({ err }, "directory request failed");
    res.status(500).json({ code: "INTERNAL" });
  });
  return app;
}

export async function startPeerDirectory(opts: PeerDirectoryOptions): Promise<PeerDirectory> {
  const state = new DirectoryState(opts.rules);
  const watch = startClusterWatch({
    kubeConfig: opts.kubeConfig,
    logger: opts.logger,
    onSnapshot: (snapshot, complete) => state.update(snapshot, complete),
    ...(opts.onList ? { onList: opts.onList } : {}),
  });
  const router = directoryRouter({
    state,
    authenticator: opts.authenticator ?? new TokenReviewAuthenticator(opts.kubeConfig),
    issuer: opts.issuer,
    maxWaitSeconds: opts.maxWaitSeconds ?? 30,
    logger: opts.logger,
  });
  const app = directoryApp(router, state, opts.logger);
  const server: Server = opts.tls
    ? createHttpsServer({ key: opts.tls.key, cert: opts.tls.cert }, app)
    : createHttpServer(app);
  // Long-polls hold requests open; keep-alive lets a sidecar reuse its connection for the next one.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 75_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    address: server.address() as AddressInfo,
    state,
    reloadTls(tls) {
      if (!(server instanceof HttpsServer)) throw new Error("the directory serves plain HTTP");
      server.setSecureContext({ key: tls.key, cert: tls.cert });
    },
    async close() {
      await watch.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
