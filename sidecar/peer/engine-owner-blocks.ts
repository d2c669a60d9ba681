/**
 * OwnerBlocks over the block engine: a block from the store, or fetched once (the engine's
 * single-flight) from the peers it is given (in the sidecar: this sidecar's ancestors in the block's
 * tree, which rank above it, so no chain of requests goes round in a circle; then the peers ranked
 * after it, cached only) and last from the registry with this sidecar's own credential for the
 * repository. The owner of a block, at the root of its tree, is where the group's copy comes from.
 * A cached-only request gets the block from the store or nothing. A registry this sidecar does not
 * serve, a repository none of its pods pulled, or a blob the registry does not grant that credential in
 * that repository (at that size) is "unavailable" (undefined) and the requester falls back: a cached
 * block is never served on a repository's name alone, since the same digest may be cached from
 * another repository.
 */
import type { BlobDescriptor, BlockEngine, BlockRequest, BlockSource, SourceList } from "../blocks/index.ts";
import { blockLength } from "./peer-protocol.ts";
import type { PeerBlockRequest } from "./peer-protocol.ts";
import type { OwnerBlocks } from "./peer-server.ts";

/** The registry for one repository, with a credential of this sidecar's own pods. */
export interface OwnerOrigin {
  readonly source: BlockSource;
  /** Whether the registry grants that credential this blob, of this size, in the repository. */
  holds(blob: BlobDescriptor, signal: AbortSignal): Promise<boolean>;
}

/**
 * This sidecar's origin for (host, repo), waiting up to `waitMs` for a credential of its own;
 * undefined when it has none.
 */
export type OriginLookup = (
  host: string,
  repo: string,
  waitMs: number,
  signal: AbortSignal,
) => Promise<OwnerOrigin | undefined>;

export interface EngineOwnerOptions {
  /** How long a request may wait for this sidecar's own pod to prove a credential for the repository. */
  readonly credentialWaitMs: number;
  /** After a wait came up empty, requests for that repository are answered at once for this long. */
  readonly noCredentialTtlMs: number;
}

/** Peers to ask before the registry, for blocks of (host, repo). */
export type PeersFirst = (host: string, repo: string) => (request: BlockRequest) => BlockSource[];

export class EngineOwnerBlocks implements OwnerBlocks {
  readonly #engine: BlockEngine;
  readonly #originFor: OriginLookup;
  readonly #opts: EngineOwnerOptions;
  readonly #peersFirst: PeersFirst | undefined;
  readonly #noCredential = new Map<string, number>();

  constructor(
    engine: BlockEngine,
    originFor: OriginLookup,
    opts: EngineOwnerOptions,
    peersFirst?: PeersFirst,
  ) {
    this.#engine = engine;
    this.#originFor = originFor;
    this.#opts = opts;
    this.#peersFirst = peersFirst;
  }

  release(bytes: Uint8Array): void {
    this.#engine.releaseBlock(bytes);
  }

  async get(req: PeerBlockRequest, signal: AbortSignal): Promise<Uint8Array | undefined> {
    if (req.blockSize !== this.#engine.blockSizeBytes || blockLength(req) <= 0) return undefined;
    if (req.cachedOnly) return this.#cached(req, signal);
    const repoKey = `${req.host}/${req.repo}`;
    const gaveUp = this.#noCredential.get(repoKey);
    const wait = gaveUp !== undefined && gaveUp > Date.now() ? 0 : this.#opts.credentialWaitMs;
    const origin = await this.#originFor(req.host, req.repo, wait, signal);
    if (origin === undefined) {
      if (wait > 0 && !signal.aborted) this.#rememberNoCredential(repoKey);
      return undefined;
    }
    const blob = { digest: req.digest, size: req.blobSize };
    if (!(await origin.holds(blob, signal))) return undefined;
    const source = origin.source;
    const peers = this.#peersFirst?.(req.host, req.repo);
    const sources: SourceList = peers ? (request) => [...peers(request), source] : [source];
    return this.#engine.getBlock(blob, req.index, sources, { authoritative: source, signal });
  }

  /**
   * A cached-only request: the block if the store holds it and this sidecar's own credential is
   * granted the blob in that repository (the same rule as any answer). No wait for a credential: a
   * sidecar holding the block pulled it with one.
   */
  async #cached(req: PeerBlockRequest, signal: AbortSignal): Promise<Uint8Array | undefined> {
    const blob = { digest: req.digest, size: req.blobSize };
    const bytes = await this.#engine.cachedBlock(blob, req.index);
    if (bytes === undefined) return undefined;
    const origin = await this.#originFor(req.host, req.repo, 0, signal);
    if (origin === undefined || !(await origin.holds(blob, signal))) return undefined;
    return bytes;
  }

  #rememberNoCredential(repoKey: string): void {
    if (this.#noCredential.size >= 1024) this.#noCredential.clear();
    this.#noCredential.set(repoKey, Date.now() + this.#opts.noCredentialTtlMs);
  }
}
