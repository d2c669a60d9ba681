/**
 * OwnerBlocks over the block engine: a block from the store, or fetched once (the engine's
 * single-flight) from the registry with this sidecar's own credential for the repository. Only the
 * origin is asked, never other peers: an owner that lacks a block is where the group's copy comes
 * from. A registry this sidecar does not serve, a repository none of its pods pulled, or a blob the
 * registry does not grant that credential in that repository (at that size) is "unavailable"
 * (undefined) and the requester falls back: a cached block is never served on a repository's name
 * alone, since the same digest may be cached from another repository.
 */
import type { BlockEngine } from "../blocks/block-engine.ts";
import type { BlobDescriptor, BlockSource } from "../blocks/block-source.ts";
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

export class EngineOwnerBlocks implements OwnerBlocks {
  readonly #engine: BlockEngine;
  readonly #originFor: OriginLookup;
  readonly #opts: EngineOwnerOptions;
  readonly #noCredential = new Map<string, number>();

  constructor(engine: BlockEngine, originFor: OriginLookup, opts: EngineOwnerOptions) {
    this.#engine = engine;
    this.#originFor = originFor;
    this.#opts = opts;
  }

  async get(req: PeerBlockRequest, signal: AbortSignal): Promise<Uint8Array | undefined> {
    if (req.blockSize !== this.#engine.blockSizeBytes || blockLength(req) <= 0) return undefined;
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
    return this.#engine.getBlock(blob, req.index, [source], { authoritative: source, signal });
  }

  #rememberNoCredential(repoKey: string): void {
    if (this.#noCredential.size >= 1024) this.#noCredential.clear();
    this.#noCredential.set(repoKey, Date.now() + this.#opts.noCredentialTtlMs);
  }
}
