/**
 * The P2P half of a sidecar, for app.ts to plug in. Two steps, because the engine needs the ownership
 * rule and the quarantine hook at construction and the peer server needs the engine:
 *
 *   const peers = createPeerNetwork(settings, { logger, registry: metrics.registry });
 *   const engine = new BlockEngine({ ..., isOwned: peers.isOwned, onBadBlock: peers.onBadBlock });
 *   sourcesFor: (target) => { const origin = ...; return { list: peers.sources(target.host, target.repo, origin), origin } }
 *   await peers.serve(engine, originLookup(upstream, authorizer));
 *   ...
 *   await peers.close();
 *
 * Modes: peer sharing off -> origin only; a directory URL -> the directory's list and tickets; a static
 * peer list -> that list, tickets signed with the shared key; neither -> origin only.
 */
import { readFileSync } from "node:fs";
import type { Registry } from "prom-client";
import type { Logger } from "../../lib/logger.ts";
import { ticketKeyFromPem } from "../../contract/peer-ticket.ts";
import type { BadBlockEvent, BlockEngine, BlockRequest, BlockSource, SourceList } from "../blocks/index.ts";
import type { BlockBuffers } from "../buffers/block-pool.ts";
import type { SidecarConfig } from "../config/sidecar-config.ts";
import { DirectoryPeers } from "./directory-peers.ts";
import { EngineOwnerBlocks } from "./engine-owner-blocks.ts";
import type { OriginLookup } from "./engine-owner-blocks.ts";
import { PeerClient } from "./peer-client.ts";
import { PeerMetrics } from "./peer-metrics.ts";
import { startPeerServer } from "./peer-server.ts";
import type { PeerServer } from "./peer-server.ts";
import { peerCandidates, quarantineLiar } from "./peer-source.ts";
import type { PeerSourceContext } from "./peer-source.ts";
import { peerId } from "./peer-view.ts";
import type { PeerViewProvider } from "./peer-view.ts";
import { Quarantine } from "./quarantine.ts";
import { rankPeers } from "./rendezvous.ts";
import { AskingPeers } from "./asking-peers.ts";
import { StaticPeers } from "./static-peers.ts";
import { CodedError } from "../../lib/coded-error.ts";

export type PeerNetworkSettings = Pick<
  SidecarConfig,
  | "podIP"
  | "peerPort"
  | "peers"
  | "peerSharing"
  | "group"
  | "directoryURL"
  | "directoryCA"
  | "connectTimeoutMs"
  | "transferTimeoutMs"
  | "blockSizeBytes"
  | "proxyFsParallels"
> & {
  /** File holding the Ed25519 private key (PKCS#8 PEM) shared by the peers of a static list. */
  readonly peerTicketKeyFile?: string | undefined;
  /** The projected ServiceAccount token the directory authenticates. */
  readonly directoryTokenFile?: string | undefined;
};

export class PeerConfigError extends CodedError<"PEER_CONFIG_INVALID"> {
  constructor(message: string) {
    super("PEER_CONFIG_INVALID", message);
    this.name = "PeerConfigError";
  }
}

export interface PeerNetwork {
  /** "off", "directory" or "static". */
  readonly mode: "off" | "directory" | "static";
  readonly self: string;
  /** Rendezvous ownership, for the engine's store (owned blocks are evicted last). */
  readonly isOwned: (request: BlockRequest) => boolean;
  /** The engine found a bad block: quarantine the peer that served it. */
  readonly onBadBlock: (event: BadBlockEvent) => void;
  /**
   * Whether blocks may come from peers now or soon (a ticket, and another peer listed or starting).
   * While they may, this sidecar asks the registry only for the blocks it owns (about 1/N of each blob,
   * scattered), so reading the registry in long sequential segments would fetch the rest of each
   * segment for nothing; and a sidecar alone so far reads block by block, whose blocks the peers that
   * follow find in its cache, instead of segments they would fetch again.
   */
  hasPeers(): boolean;
  /** Sources for one blob of (host, repo): per block, its owner and next candidate, then `origin`. */
  sources(host: string, repo: string, origin: BlockSource): SourceList;
  /** Starts the peer server on podIP:peerPort (no-op when off). */
  serve(engine: BlockEngine, originFor: OriginLookup): Promise<void>;
  readonly view: PeerViewProvider | undefined;
  readonly quarantine: Quarantine;
  close(): Promise<void>;
}

export const QUARANTINE_BASE_MS = 10_000;
export const QUARANTINE_MAX_MS = 300_000;
/** A cached-only probe's limit (peer-source.ts), or transferTimeout when that is shorter. */
export const CACHED_PROBE_TIMEOUT_MS = 1_000;
/**
 * Peers asked for a block before the registry: its parent and grandparent in the block's tree (the
 * owner's children, which have no grandparent: the owner and the peer ranked right above them), and
 * deeper in the tree the owner after them (peer-source.ts).
 */
export const PEER_CANDIDATES = 2;
/**
 * Children per peer in a block's tree (block-tree.ts). Simulated (npm run bench -- p2p-sim, 128 MiB
 * at 25 MB/s a peer): at N=100 the p99 pull was 3.8x the lower bound with every peer asking the owner,
 * 1.37x with a fan-out of 2 (busiest upload 1.09x the mean), 1.37x with 4 (1.18x), 1.5x with 8.
 */
export const BLOCK_TREE_FANOUT = 2;

function viewFor(
  settings: PeerNetworkSettings,
  self: string,
  logger: Logger,
  onDirectoryFailure: () => void,
): { mode: "directory" | "static"; view: PeerViewProvider } | undefined {
  if (settings.directoryURL !== undefined) {
    const tokenFile = settings.directoryTokenFile;
    if (tokenFile === undefined) {
      throw new PeerConfigError(
        "the peer directory (ACR_P2P_DIRECTORY_URL) needs the projected token file (ACR_P2P_DIRECTORY_TOKEN_FILE)",
      );
    }
    const view = new DirectoryPeers({
      url: settings.directoryURL,
      tokenFile,
      logger,
      connectTimeoutMs: settings.connectTimeoutMs,
      onFailure: onDirectoryFailure,
      ...(settings.directoryCA ? { ca: settings.directoryCA } : {}),
    });
    return { mode: "directory", view };
  }
  if (settings.peers.length === 0) return undefined;
  const keyFile = settings.peerTicketKeyFile;
  if (!keyFile) {
    throw new PeerConfigError(
      "a static peer list (ACR_P2P_PEERS) needs the peers' shared ticket key (ACR_P2P_STATIC_PEER_KEY_FILE)",
    );
  }
  if (!settings.group) {
    throw new PeerConfigError("a static peer list needs a group (ACR_P2P_GROUP or the pod namespace)");
  }
  let key;
  try {
    key = ticketKeyFromPem(readFileSync(keyFile, "utf8"));
  } catch (err) {
    throw new PeerConfigError(
      `ACR_P2P_STATIC_PEER_KEY_FILE: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  return {
    mode: "static",
    view: new StaticPeers({ peers: settings.peers, group: settings.group, self, key }),
  };
}

export function createPeerNetwork(
  settings: PeerNetworkSettings,
  deps: { logger: Logger; registry?: Registry; buffers?: BlockBuffers },
): PeerNetwork {
  const logger = deps.logger.child({ component: "peer" });
  const self = peerId(
    settings.podIP.includes(":") ? `[${settings.podIP}]` : settings.podIP,
    settings.peerPort,
  );
  const quarantine = new Quarantine({ baseMs: QUARANTINE_BASE_MS, maxMs: QUARANTINE_MAX_MS });
  // The directory's first call fails no sooner than after an await: `metrics` is set by then.
  const chosen = settings.peerSharing
    ? viewFor(settings, self, logger, () => metrics?.directoryFailures.inc())
    : undefined;
  if (chosen === undefined) {
    return {
      mode: "off",
      self,
      isOwned: () => false,
      onBadBlock: () => {},
      hasPeers: () => false,
      sources: (_h, _r, origin) => [origin],
      serve: async () => {},
      view: undefined,
      quarantine,
      close: async () => {},
    };
  }
  const { view } = chosen;
  const client = new PeerClient({
    connectTimeoutMs: settings.connectTimeoutMs,
    transferTimeoutMs: settings.transferTimeoutMs,
    onOpen: () => metrics?.connectionsOpened.inc(),
    localAddress: settings.podIP,
    ...(deps.buffers ? { buffers: deps.buffers } : {}),
  });
  const metrics = deps.registry
    ? new PeerMetrics(deps.registry, () => ({
        peers: view.current().peers.length,
        quarantined: quarantine.list().length,
        connections: client.connections,
      }))
    : undefined;
  const asking = new AskingPeers();
  const ctx: PeerSourceContext = {
    view,
    client,
    quarantine,
    self,
    blockSize: settings.blockSizeBytes,
    maxCandidates: PEER_CANDIDATES,
    fanout: BLOCK_TREE_FANOUT,
    cachedProbeTimeoutMs: Math.min(CACHED_PROBE_TIMEOUT_MS, settings.transferTimeoutMs),
    slowProbes: new Quarantine({ baseMs: QUARANTINE_BASE_MS, maxMs: QUARANTINE_MAX_MS }),
    asking,
    onFailure: (peer, err) => {
      metrics?.failures.inc({ code: err.peerCode });
      logger.debug({ peer, code: err.peerCode, msg: err.message }, "peer request failed");
    },
  };
  let server: PeerServer | undefined;
  logger.info({ mode: chosen.mode, self }, "peer sharing on");

  return {
    mode: chosen.mode,
    self,
    view,
    quarantine,
    isOwned: (request) => rankPeers(request.digest, request.index, view.current().peers)[0] === self,
    hasPeers() {
      const current = view.current();
      const others = current.peers.some((p) => p !== self) || (current.starting ?? 0) > 0;
      return current.ticket !== undefined && others;
    },
    onBadBlock: (event) => {
      const liar = quarantineLiar(quarantine, event.source);
      if (liar === undefined) return;
      metrics?.failures.inc({ code: "DIGEST_MISMATCH" });
      logger.warn(
        { peer: liar, digest: event.digest, index: event.index },
        "peer served a wrong block; quarantined",
      );
    },
    sources(host, repo, origin) {
      const candidates = peerCandidates(ctx, host, repo);
      return (request) => [...candidates(request), origin];
    },
    async serve(engine, originFor) {
      server = await startPeerServer({
        host: settings.podIP,
        port: settings.peerPort,
        view,
        blocks: new EngineOwnerBlocks(
          engine,
          originFor,
          { credentialWaitMs: 2_000, noCredentialTtlMs: 30_000 },
          // A peer asked for a block it lacks gets it as for its own pull: from its ancestors in the
          // block's tree, the owner from the registry (after asking the peers ranked after it).
          (host, repo) => peerCandidates(ctx, host, repo),
        ),
        blockSize: settings.blockSizeBytes,
        maxInFlight: Math.max(256, settings.proxyFsParallels * 4),
        logger,
        asking,
        onAnswer: (status, bytes) => {
          metrics?.served.inc({ status: String(status) });
          if (bytes > 0) metrics?.servedBytes.inc(bytes);
        },
      });
    },
    async close() {
      await server?.close();
      await view.close();
      await client.close();
    },
  };
}
