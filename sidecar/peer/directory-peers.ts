/**
 * The peer view from the controller's directory: a long-poll loop that presents the pod's projected
 * ServiceAccount token and receives the ready peers of its group in its zone, a fresh ticket and the
 * ticket keys. While the directory is unreachable the last answer stays in force (its ticket until it
 * expires); with no answer at all the view is empty and every block comes from the registry.
 */
import { readFile } from "node:fs/promises";
import { Agent } from "undici";
import type { Logger } from "../../lib/logger.ts";
import { MAX_TICKET_TTL_SECONDS, PeerTicketVerifier } from "../../contract/peer-ticket.ts";
import { parseDirectoryAnswer, type DirectoryAnswer } from "../../contract/directory-answer.ts";
import type { TicketPublicKey } from "../../contract/peer-ticket.ts";
import { parsePeerId } from "./peer-view.ts";
import type { PeerId, PeerView, PeerViewProvider } from "./peer-view.ts";

export interface DirectoryPeersOptions {
  /** Base URL of the directory (`https://host:port`). */
  readonly url: string;
  /** PEM of the CA of the directory's serving certificate. */
  readonly ca?: string;
  /** The projected ServiceAccount token (audience acr-p2p), re-read before every request. */
  readonly tokenFile: string;
  readonly logger: Logger;
  readonly waitSeconds?: number;
  readonly minRetryMs?: number;
  readonly maxRetryMs?: number;
  readonly connectTimeoutMs?: number;
  /** Called on each failed call (unreachable, refused, malformed answer): counted for alerts. */
  readonly onFailure?: () => void;
}

/** At most this many peer addresses go into the "peer list updated" log line. */
const LOGGED_PEERS = 16;

/** The directory's answer with its peers as peer ids (addresses this sidecar cannot use dropped). */
interface Answer extends Omit<DirectoryAnswer, "peers"> {
  readonly peers: readonly PeerId[];
}

function readAnswer(value: unknown): Answer {
  const answer = parseDirectoryAnswer(value);
  const peers = answer.peers.map(parsePeerId).filter((p) => p !== undefined);
  return { ...answer, peers };
}

export class DirectoryPeers implements PeerViewProvider {
  readonly verifier = new PeerTicketVerifier();
  readonly #opts: DirectoryPeersOptions;
  readonly #agent: Agent;
  readonly #abort = new AbortController();
  readonly #keys = new Map<string, { key: TicketPublicKey; seen: number }>();
  #answer: Answer | undefined;
  #loop: Promise<void>;
  #answered = Promise.withResolvers<void>();

  constructor(opts: DirectoryPeersOptions) {
    this.#opts = opts;
    const wait = opts.waitSeconds ?? 30;
    this.#agent = new Agent({
      connect: { timeout: opts.connectTimeoutMs ?? 5_000, ...(opts.ca ? { ca: opts.ca } : {}) },
      headersTimeout: (wait + 15) * 1000,
      bodyTimeout: 15_000,
      // HTTP/1.1, as the upstream transport (http-transport.ts).
      allowH2: false,
    });
    this.#loop = this.#run(wait);
  }

  current(): PeerView {
    const a = this.#answer;
    if (a === undefined) return { group: "", peers: [], ticket: undefined };
    const ticketValid = a.ticketExpiresAt > Date.now() / 1000 + 5;
    return {
      group: a.group,
      peers: a.peers,
      starting: a.starting,
      ticket: ticketValid ? a.ticket : undefined,
    };
  }

  /** Resolves after the first answer (or never, if the directory never answers: use a timeout). */
  firstAnswer(): Promise<void> {
    return this.#answered.promise;
  }

  async close(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
    await this.#agent.close();
  }

  async #run(wait: number): Promise<void> {
    let failures = 0;
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      try {
        this.#accept(await this.#ask(this.#answer === undefined ? 0 : wait));
        failures = 0;
      } catch (err) {
        if (signal.aborted) break;
        failures++;
        this.#opts.onFailure?.();
        const delay = Math.min(
          this.#opts.maxRetryMs ?? 30_000,
          (this.#opts.minRetryMs ?? 500) * 2 ** (failures - 1),
        );
        this.#opts.logger.warn(
          { err: String(err), delayMs: delay },
          "peer directory unreachable; keeping the last list",
        );
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, delay);
          signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
        });
      }
    }
  }

  async #ask(wait: number): Promise<Answer> {
    const token = (await readFile(this.#opts.tokenFile, "utf8")).trim();
    const url = new URL("/v1/peers", this.#opts.url);
    if (this.#answer !== undefined && wait > 0) {
      url.searchParams.set("etag", this.#answer.etag);
      url.searchParams.set("wait", String(wait));
    }
    const res = await this.#agent.request({
      origin: url.origin,
      path: url.pathname + url.search,
      method: "GET",
      headers: { authorization: `Bearer ${token}` },
      signal: this.#abort.signal,
    });
    const body: unknown = await res.body.json().catch(() => undefined);
    if (res.statusCode !== 200) {
      const code = (body as { code?: unknown } | undefined)?.code;
      throw new Error(`directory answered ${res.statusCode} ${typeof code === "string" ? code : ""}`);
    }
    return readAnswer(body);
  }

  #accept(answer: Answer): void {
    const now = Date.now();
    for (const key of answer.keys) this.#keys.set(key.kid, { key, seen: now });
    // Keys seen within a ticket lifetime stay trusted: peers may still hold tickets they signed.
    for (const [kid, k] of this.#keys)
      if (now - k.seen > MAX_TICKET_TTL_SECONDS * 1000) this.#keys.delete(kid);
    const kids = [...this.#keys.keys()].sort().join();
    if (kids !== this.verifier.keyIds().sort().join())
      this.verifier.setKeys([...this.#keys.values()].map((k) => k.key));
    if (this.#answer?.etag !== answer.etag) {
      // Who the peers are, for `kubectl logs`; a long list is cut (the count stays whole).
      this.#opts.logger.info(
        {
          group: answer.group,
          peers: answer.peers.length,
          starting: answer.starting,
          addresses: answer.peers.slice(0, LOGGED_PEERS),
        },
        "peer list updated",
      );
    }
    this.#answer = answer;
    this.#answered.resolve();
  }
}
