/**
 * Wires the sidecar from its config: upstream client (policy, transport, tokens, authorizer), block
 * store and engine, registry front on listenHost:port, health/metrics server on podIP:healthPort.
 * Nothing here reads the environment; the CLI passes the frozen config in.
 */
import { mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "../lib/logger.ts";
import { SIDECAR_MEMORY_BUDGET } from "../lib/sidecar-memory.ts";
import {
  BlockEngine,
  BlockPool,
  openBlockStore,
  UNPOOLED,
  type BlockBuffers,
  type BlockStore,
} from "./blocks/index.ts";
import type { SidecarConfig } from "./config/sidecar-config.ts";
import { createHealthServer, type ReadinessCheck } from "./health/health-server.ts";
import { SidecarMetrics } from "./metrics/sidecar-metrics.ts";
import { BlockReclaimer } from "./memory/block-reclaimer.ts";
import { fetchSlots } from "./memory/fetch-slots.ts";
import { createRegistryServer } from "./registry/registry-server.ts";
import { HostAllowlist, TargetPolicy, type Resolver } from "./upstream/address-policy.ts";
import { HttpTransport } from "./upstream/http-transport.ts";
import { OriginBlockSource } from "./upstream/origin-block-source.ts";
import { OriginSegments } from "./upstream/origin-segments.ts";
import { RegistryClient } from "./upstream/registry-client.ts";
import { TokenProvider } from "./upstream/token-provider.ts";
import { UpstreamRegistry } from "./upstream/upstream-registry.ts";
import { OwnerCredentials, originLookup } from "./peer/owner-credentials.ts";
import { createPeerNetwork } from "./peer/peer-network.ts";

/** Origin reads of streamed blobs go in segments of this size (see origin-segments.ts). */
const ORIGIN_SEGMENT_BYTES = 4 * 1024 * 1024;

export interface SidecarDeps {
  readonly logger: Logger;
  /** Name resolution for the address policy (tests point names at chosen addresses). */
  readonly resolver?: Resolver;
  /** Process metrics (RSS, CPU) in /metrics; default true. */
  readonly processMetrics?: boolean;
  /** How often a blob still being sent is logged ("blob progress"); default 10 s. */
  readonly progressLogMs?: number;
}

export interface Sidecar {
  /** `host:port` the registry front listens on (port resolved when the config asked for 0). */
  readonly registryAddress: string;
  readonly healthAddress: string;
  readonly metrics: SidecarMetrics;
  readonly engine: BlockEngine;
  readonly upstream: UpstreamRegistry;
  close(): Promise<void>;
}

export async function startSidecar(config: SidecarConfig, deps: SidecarDeps): Promise<Sidecar> {
  const { logger } = deps;
  const metrics = new SidecarMetrics({ processMetrics: deps.processMetrics ?? true });
  // Configured registries and explicitly allowed hosts are trusted; everything else is policy-checked.
  const policy = new TargetPolicy(
    new HostAllowlist([...config.upstreamHosts, ...config.allowedHosts]),
    deps.resolver,
  );
  const transport = new HttpTransport(policy, {
    connectTimeoutMs: config.connectTimeoutMs,
    transferTimeoutMs: config.transferTimeoutMs,
    maxConnectionsPerOrigin: Math.min(config.proxyFsParallels, 256),
  });
  const client = new RegistryClient(
    transport,
    policy,
    new TokenProvider(transport, policy),
    config.plainHttpHosts,
  );
  // OwnerCredentials is the RepoAuthorizer plus the latest proven credential per repository: what this
  // sidecar uses, as a block owner, to fetch blocks its peers ask for.
  const authorizer = new OwnerCredentials();
  const upstream = new UpstreamRegistry(client, authorizer, { maxBlobBytes: config.maxBlobBytes });
  const reclaimer = new BlockReclaimer({
    everyBytes: SIDECAR_MEMORY_BUDGET.droppedBlocksBytes,
    onCollect: () => metrics.memoryReclaims.inc(),
  });
  const { released } = reclaimer;
  // Memory mode: a block evicted from the store (and written to its readers) gives its buffer to the
  // next block, with no page faults and no collection to wait for; the share of the memory budget
  // for dropped blocks holds the free buffers. Only buffers beyond it are left to the collector, and
  // reported to the reclaimer. The disk store keeps no buffers: each block is its own allocation.
  const pooled = config.cacheMode === "memory";
  let buffers: BlockBuffers = UNPOOLED;
  if (pooled) {
    const pool = new BlockPool({
      blockBytes: config.blockSizeBytes,
      maxFree: Math.max(1, Math.floor(SIDECAR_MEMORY_BUDGET.droppedBlocksBytes / config.blockSizeBytes)),
      onDrop: released,
    });
    metrics.observeBlockBuffers(() => pool.stats());
    buffers = pool;
  }
  const peers = createPeerNetwork(config, { logger, registry: metrics.registry, buffers });

  let ownDiskDir: string | undefined;
  const store: BlockStore = await openBlockStore(
    config.cacheMode === "memory"
      ? {
          mode: "memory",
          capacityBytes: config.memoryCacheBytes,
          blockSizeBytes: config.blockSizeBytes,
          buffers,
        }
      : {
          mode: "disk",
          capacityBytes: config.capacityBytes,
          blockSizeBytes: config.blockSizeBytes,
          dir: config.cacheDir ?? (ownDiskDir = mkdtempSync(join(tmpdir(), "acr-p2p-blocks-"))),
          onRelease: released,
        },
  );
  const { slots, limitedFrom } = fetchSlots(config.proxyFsParallels, config.blockSizeBytes);
  if (limitedFrom !== undefined) {
    logger.warn(
      {
        proxyFsParallels: limitedFrom,
        blocksizeKiB: config.blockSizeBytes / 1024,
        inFlightLimit: slots,
        inFlightMiB: SIDECAR_MEMORY_BUDGET.streamBlockBytes / 2 ** 20,
      },
      "proxyFsParallels lowered: that many blocks in flight would exceed the memory budget's share for them",
    );
  }
  const engine = new BlockEngine({
    store,
    blockSizeBytes: config.blockSizeBytes,
    proxyFsParallels: slots,
    readaheadBudgetBytes: SIDECAR_MEMORY_BUDGET.streamBlockBytes,
    transferTimeoutMs: config.transferTimeoutMs,
    connectTimeoutMs: config.connectTimeoutMs,
    metrics: metrics.blockMetrics(),
    buffers,
    isOwned: peers.isOwned,
    onBadBlock: peers.onBadBlock,
  });
  metrics.observeCache(() => {
    const s = store.stats();
    return { bytes: s.bytes, capacityBytes: s.capacityBytes, blocks: s.entries };
  });

  const segments = new OriginSegments({
    blockSizeBytes: config.blockSizeBytes,
    segmentBytes: ORIGIN_SEGMENT_BYTES,
    leftoverBytes: SIDECAR_MEMORY_BUDGET.originLeftoverBytes,
    buffers,
    ...(pooled ? {} : { onRelease: released }),
  });
  const registry = createRegistryServer({
    servedHosts: new Set(config.upstreamHosts),
    upstream,
    engine,
    sourcesFor: (target, sequential) => {
      // With peers this sidecar asks the registry only for the blocks it owns (scattered): no segments.
      const useSegments = sequential && !peers.hasPeers();
      const origin = new OriginBlockSource(upstream, target, {
        segments: useSegments ? segments : undefined,
        buffers,
      });
      return { list: peers.sources(target.host, target.repo, origin), origin };
    },
    stalledReaderMs: config.transferTimeoutMs,
    progressEveryMs: deps.progressLogMs ?? 10_000,
    report: {
      progress: (path, bytes, size, from, seconds) =>
        logger.info(
          {
            host: path.host,
            repo: path.repo,
            digest: path.digest,
            bytes,
            size,
            percent: Math.floor((100 * bytes) / Math.max(1, size)),
            from,
            seconds: round3(seconds),
          },
          "blob progress",
        ),
      served: (path, bytes, from, seconds) =>
        logger.info(
          { host: path.host, repo: path.repo, digest: path.digest, bytes, from, seconds: round3(seconds) },
          "blob served",
        ),
      backedUp: (delta) => metrics.backedUpReaders.inc(delta),
      stalledReader: (path) => {
        metrics.stalledReaders.inc();
        logger.warn(
          { host: path.host, repo: path.repo, digest: path.digest, seconds: config.transferTimeoutSeconds },
          "client stopped reading a blob; dropped",
        );
      },
    },
    metrics,
    logger,
  });
  const checks: ReadinessCheck[] = [
    { name: "registry front", check: () => (registry.listening ? undefined : "not listening") },
    { name: "block cache", check: () => (store.stats().capacityBytes > 0 ? undefined : "no capacity") },
  ];
  const health = createHealthServer(metrics, checks);

  const closers: (() => Promise<void>)[] = [];
  const shutdown = async (): Promise<void> => {
    for (const c of closers.reverse()) await c();
    await transport.close();
    await store.close();
    if (ownDiskDir) rmSync(ownDiskDir, { recursive: true, force: true });
  };
  try {
    await listen(registry, config.port, config.listenHost);
    closers.push(() => closeServer(registry));
    await listen(health, config.healthPort, config.podIP);
    closers.push(() => closeServer(health));
    await peers.serve(engine, originLookup(upstream, authorizer, new Set(config.upstreamHosts), buffers));
    closers.push(() => peers.close());
  } catch (err) {
    await shutdown();
    throw err;
  }
  let closed: Promise<void> | undefined;
  return {
    registryAddress: addressOf(registry),
    healthAddress: addressOf(health),
    metrics,
    engine,
    upstream,
    close() {
      closed ??= shutdown();
      return closed;
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function addressOf(server: Server): string {
  const a = server.address() as AddressInfo;
  return a.family === "IPv6" ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
