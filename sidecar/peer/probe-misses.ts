/**
 * Blobs not worth a probe just now. An owner probes the peers ranked after it for a copy they hold
 * before it reads a block from the registry (peer-source.ts), which pays when it joined a group that
 * already pulled. In a scale-out, where every sidecar starts at once, nobody holds the blocks an owner
 * has still to read, and every probe misses: at N=8 (bench/p2p.ts) those misses were 2,054 of 9,243
 * block requests. So once `limit` probes for one blob missed and none hit, whichever peers were asked,
 * the owner stops probing for that blob until `forgetAfterMs` passed since the last miss.
 *
 * One hit within `forgetAfterMs` keeps the blob probed for, whatever misses follow: a sidecar that
 * starts while an earlier one of its zone is still reading the blob finds the blocks that one already
 * read, and misses those it has not read yet, in an order set by their readahead (the node tier's
 * scale-out from 0 took 2.3x the image from the registry when misses in a row stopped the probes, where
 * 2.1x is its bound).
 *
 * Counted per blob, not per peer: the peers ranked after an owner differ from block to block, so in a
 * group of hundreds no single peer would be asked often enough to reach a limit.
 */

export interface ProbeMissesOptions {
  /** Misses after which a blob none of whose probes hit is no longer probed for. */
  readonly limit: number;
  /** How long after its last miss that lasts (by then a peer may hold the blob), and a hit counts. */
  readonly forgetAfterMs: number;
  /** Blobs remembered; past it all are forgotten (probing again is always safe). */
  readonly maxEntries?: number;
  /** Injectable clock for tests and the simulator. */
  readonly now?: () => number;
}

interface Probes {
  misses: number;
  lastMissAt: number;
  /** When a probe for the blob last hit, if it did. */
  lastHitAt: number | undefined;
}

const DEFAULT_MAX_ENTRIES = 1024;

export class ProbeMisses {
  readonly #byBlob = new Map<string, Probes>();
  readonly #limit: number;
  readonly #forgetAfterMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(opts: ProbeMissesOptions) {
    this.#limit = opts.limit;
    this.#forgetAfterMs = opts.forgetAfterMs;
    this.#maxEntries = opts.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.#now = opts.now ?? Date.now;
  }

  /** Whether to skip the probes for blocks of blob `digest`. */
  skip(digest: string): boolean {
    const probes = this.#current(digest);
    return probes !== undefined && probes.misses >= this.#limit && !this.#recent(probes.lastHitAt);
  }

  /** A probe for a block of `digest` was answered without it. */
  missed(digest: string): void {
    const probes = this.#current(digest);
    if (probes) {
      probes.misses++;
      probes.lastMissAt = this.#now();
    } else {
      this.#set(digest, { misses: 1, lastMissAt: this.#now(), lastHitAt: undefined });
    }
  }

  /** A probe for a block of `digest` was answered with the block. */
  held(digest: string): void {
    const probes = this.#current(digest);
    if (probes) probes.lastHitAt = this.#now();
    else this.#set(digest, { misses: 0, lastMissAt: this.#now(), lastHitAt: this.#now() });
  }

  /** The blob's probes, unless their last miss and hit are both old enough to forget. */
  #current(digest: string): Probes | undefined {
    const probes = this.#byBlob.get(digest);
    if (probes && !this.#recent(probes.lastMissAt) && !this.#recent(probes.lastHitAt)) {
      this.#byBlob.delete(digest);
      return undefined;
    }
    return probes;
  }

  #recent(at: number | undefined): boolean {
    return at !== undefined && this.#now() - at <= this.#forgetAfterMs;
  }

  #set(digest: string, probes: Probes): void {
    if (this.#byBlob.size >= this.#maxEntries) this.#byBlob.clear();
    this.#byBlob.set(digest, probes);
  }
}
