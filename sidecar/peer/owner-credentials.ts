/**
 * The credentials this sidecar may use as a block owner. When a peer asks for a block this sidecar
 * lacks, it fetches the block from the registry itself, with a credential of its own pods that the
 * registry accepted for that repository (in the P2P case every peer pulls the same image, so each has
 * one). This authorizer is the upstream's RepoAuthorizer plus a note of the latest proven credential
 * per (registry, repository); nothing of it ever leaves the sidecar.
 *
 * The note outlives the proof (keepMs): using it only ever means asking the registry, which decides;
 * a refused credential makes the owner answer "unavailable" and the requester falls back.
 */
import type { BlockBuffers } from "../buffers/block-pool.ts";
import type { ClientCredential } from "../upstream/client-credential.ts";
import { OriginBlockSource } from "../upstream/origin-block-source.ts";
import { UpstreamError } from "../upstream/upstream-error.ts";
import type { UpstreamRegistry } from "../upstream/upstream-registry.ts";
import type { OriginLookup } from "./engine-owner-blocks.ts";
import { RepoAuthorizer } from "../upstream/repo-authorizer.ts";
import type { LRUCache } from "lru-cache";
import { boundedCache } from "../../lib/bounded-cache.ts";

export class OwnerCredentials extends RepoAuthorizer {
  readonly #latest: LRUCache<string, ClientCredential>;
  readonly #keepMs: number;
  readonly #waiters = new Set<() => void>();

  constructor(opts: { maxEntries?: number; keepMs?: number; now?: () => number } = {}) {
    super(opts.maxEntries ?? 16_384, opts.now ?? Date.now);
    this.#latest = boundedCache(4096, opts.now);
    this.#keepMs = opts.keepMs ?? 3_600_000;
  }

  override record(credential: ClientCredential, host: string, repo: string, validUntil: number): void {
    super.record(credential, host, repo, validUntil);
    this.#latest.set(`${host}\u0000${repo}`, credential, { ttl: this.#keepMs });
    for (const wake of [...this.#waiters]) wake();
  }

  override revoke(credential: ClientCredential, host: string, repo: string): void {
    super.revoke(credential, host, repo);
    const key = `${host}\u0000${repo}`;
    if (this.#latest.get(key)?.id === credential.id) this.#latest.delete(key);
  }

  /** The latest credential the registry accepted for (host, repo), if any. */
  credentialFor(host: string, repo: string): ClientCredential | undefined {
    return this.#latest.get(`${host}\u0000${repo}`);
  }

  /**
   * The credential for (host, repo), waiting up to `ms` for one to be proven: peers that pull the same
   * image at the same moment may ask this sidecar for blocks just before its own pod's manifest fetch.
   */
  waitForCredential(
    host: string,
    repo: string,
    ms: number,
    signal: AbortSignal,
  ): Promise<ClientCredential | undefined> {
    const now = this.credentialFor(host, repo);
    if (now !== undefined || ms <= 0 || signal.aborted) return Promise.resolve(now);
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        signal.removeEventListener("abort", finish);
        this.#waiters.delete(check);
        resolve(this.credentialFor(host, repo));
      };
      const check = (): void => {
        if (this.credentialFor(host, repo) !== undefined) finish();
      };
      const timer = setTimeout(finish, ms);
      signal.addEventListener("abort", finish, { once: true });
      this.#waiters.add(check);
    });
  }
}

/**
 * The owner's origin lookup for the peer server: the registry with this sidecar's own credential for a
 * registry it serves (or undefined), and the per-blob check of that credential (UpstreamRegistry's
 * authorizeBlob: remembered, or a HEAD upstream). A registry that refuses, or names another size than
 * the requester's, holds nothing for it; only an abort propagates.
 */
export function originLookup(
  upstream: UpstreamRegistry,
  credentials: OwnerCredentials,
  servedHosts: ReadonlySet<string>,
  buffers?: BlockBuffers,
): OriginLookup {
  return async (host, repo, waitMs, signal) => {
    if (!servedHosts.has(host)) return undefined;
    const credential = await credentials.waitForCredential(host, repo, waitMs, signal);
    if (credential === undefined) return undefined;
    return {
      source: new OriginBlockSource(upstream, { credential, host, repo }, buffers ? { buffers } : {}),
      holds: async (blob, signal) => {
        try {
          const { size } = await upstream.authorizeBlob(
            { credential, host, repo, digest: blob.digest },
            signal,
          );
          return size === blob.size;
        } catch (err) {
          if (err instanceof UpstreamError && !err.isAbort()) return false;
          throw err;
        }
      },
    };
  };
}
