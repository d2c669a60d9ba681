/**
 * The directory's HTTP API, one route:
 *
 *   GET /v1/peers[?etag=<etag>&wait=<seconds>]     Authorization: Bearer <projected SA token>
 *
 * answers the ready peers of the caller's group in the caller's zone, a fresh peer ticket and the keys
 * that verify tickets. With `etag` and `wait` it is a long-poll: the answer comes when the set's etag
 * differs or after `wait` seconds, whichever is first. Errors are `{"code": ...}` with a stable code.
 */
import { Router } from "express";
import type { Request, Response } from "express";
import type { Logger } from "../../lib/logger.ts";
import type { DirectoryAnswer } from "../../contract/directory-answer.ts";
import type { DirectoryState } from "./directory-state.ts";
import { AuthUnavailableError } from "./peer-authenticator.ts";
import type { PeerAuthenticator, PeerIdentity } from "./peer-authenticator.ts";
import type { TicketIssuer } from "./ticket-issuer.ts";

export interface DirectoryApiOptions {
  readonly state: DirectoryState;
  readonly authenticator: PeerAuthenticator;
  readonly issuer: TicketIssuer;
  /** Longest long-poll the server holds (a client asking for more gets this). */
  readonly maxWaitSeconds: number;
  readonly logger: Logger;
}

function fail(res: Response, status: number, code: string): void {
  res.status(status).json({ code });
}

function bearer(req: Request): string | undefined {
  const header = req.headers.authorization ?? "";
  return header.startsWith("Bearer ") ? header.slice(7).trim() || undefined : undefined;
}

export function directoryRouter(opts: DirectoryApiOptions): Router {
  const router = Router();

  async function identify(req: Request, res: Response): Promise<PeerIdentity | undefined> {
    const token = bearer(req);
    if (token === undefined) return void fail(res, 401, "TOKEN_MISSING");
    try {
      const identity = await opts.authenticator.authenticate(token);
      if (identity === undefined) return void fail(res, 403, "TOKEN_REFUSED");
      return identity;
    } catch (err) {
      if (!(err instanceof AuthUnavailableError)) throw err;
      opts.logger.warn({ err }, "TokenReview unavailable");
      return void fail(res, 503, err.code);
    }
  }

  router.get("/v1/peers", async (req, res, next) => {
    try {
      if (!opts.state.synced) return fail(res, 503, "DIRECTORY_NOT_SYNCED");
      const identity = await identify(req, res);
      if (identity === undefined) return;
      const { namespace, podName, podUid } = identity;
      const placement = opts.state.placement(namespace, podName, podUid);
      if (placement === undefined) return fail(res, 403, "POD_NOT_A_PEER");
      const etag = typeof req.query["etag"] === "string" ? req.query["etag"] : "";
      const waitText = typeof req.query["wait"] === "string" ? req.query["wait"] : "0";
      const wait = Math.min(opts.maxWaitSeconds, Math.max(0, Number(waitText) || 0));
      const abort = new AbortController();
      res.on("close", () => abort.abort());
      const set = await opts.state.waitForChange(
        placement.group,
        placement.zone,
        etag,
        wait * 1000,
        abort.signal,
      );
      if (abort.signal.aborted) return;
      // The caller may have been deleted while it waited.
      const caller = opts.state.placement(namespace, podName, podUid);
      if (caller === undefined) return fail(res, 403, "POD_NOT_A_PEER");
      const issued = opts.issuer.issue(set.group, `${namespace}/${podName}`);
      const answer: DirectoryAnswer = {
        group: set.group,
        zone: set.zone,
        etag: set.etag,
        peers: set.peers,
        // Others on their way: not the caller itself, before its own sidecar is seen ready.
        starting: Math.max(0, set.starting - (caller.starting ? 1 : 0)),
        ticket: issued.ticket,
        ticketExpiresAt: issued.expiresAt,
        keys: opts.issuer.publicKeys(),
      };
      res.setHeader("cache-control", "no-store");
      res.json(answer);
    } catch (err) {
      next(err);
    }
  });

  return router;
}
