/**
 * Which credential the registry accepted for which repository, and until when. A blob is served from
 * the cache or from peers only to a (credential, registry, repository) proven here; the proof is a
 * successful manifest fetch or blob HEAD upstream with that credential, kept for the lifetime of the
 * token that made it. Getting a token proves nothing: token servers hand out tokens with empty access.
 */
import type { ClientCredential } from "./client-credential.ts";
import type { LRUCache } from "lru-cache";
import { boundedCache } from "../../lib/bounded-cache.ts";

export class RepoAuthorizer {
  readonly #proofs: LRUCache<string, true>;
  readonly #now: () => number;

  constructor(maxEntries = 16_384, now: () => number = Date.now) {
    this.#proofs = boundedCache(maxEntries, now);
    this.#now = now;
  }

  record(credential: ClientCredential, host: string, repo: string, validUntil: number): void {
    const ttl = validUntil - this.#now();
    if (ttl > 0) this.#proofs.set(key(credential, host, repo), true, { ttl });
  }

  isProven(credential: ClientCredential, host: string, repo: string): boolean {
    return this.#proofs.get(key(credential, host, repo)) === true;
  }

  revoke(credential: ClientCredential, host: string, repo: string): void {
    this.#proofs.delete(key(credential, host, repo));
  }
}

function key(credential: ClientCredential, host: string, repo: string): string {
  return `${credential.id}\u0000${host}\u0000${repo}`;
}
