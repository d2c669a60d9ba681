/**
 * Peers that failed recently are skipped for a while, so one dead or lying peer costs a few requests
 * rather than one timeout per block. Repeat offenders stay out longer (doubling up to a cap); a peer
 * that serves well again is forgiven.
 */

export interface QuarantineOptions {
  /** First quarantine period, ms. */
  readonly baseMs: number;
  /** Longest quarantine period, ms. */
  readonly maxMs: number;
  /** Injectable clock for tests. */
  readonly now?: () => number;
}

interface Entry {
  until: number;
  strikes: number;
  reason: string;
}

export class Quarantine {
  readonly #entries = new Map<string, Entry>();
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #now: () => number;

  constructor(opts: QuarantineOptions) {
    this.#baseMs = opts.baseMs;
    this.#maxMs = opts.maxMs;
    this.#now = opts.now ?? Date.now;
  }

  /** Quarantines `peer`; `severity` multiplies the period (a peer that lied counts more than a timeout). */
  add(peer: string, reason: string, severity = 1): void {
    const prev = this.#entries.get(peer);
    const strikes = (prev?.strikes ?? 0) + severity;
    const period = Math.min(this.#maxMs, this.#baseMs * 2 ** (strikes - 1));
    const until = Math.max(prev?.until ?? 0, this.#now() + period);
    this.#entries.set(peer, { until, strikes, reason });
  }

  has(peer: string): boolean {
    const e = this.#entries.get(peer);
    return e !== undefined && e.until > this.#now();
  }

  /** A successful transfer clears the strikes of a peer whose quarantine is over. */
  forgive(peer: string): void {
    const e = this.#entries.get(peer);
    if (e !== undefined && e.until <= this.#now()) this.#entries.delete(peer);
  }

  /** Currently quarantined peers and why (for logs and metrics). */
  list(): { peer: string; reason: string; remainingMs: number }[] {
    const now = this.#now();
    const out = [];
    for (const [peer, e] of this.#entries) {
      if (e.until > now) out.push({ peer, reason: e.reason, remainingMs: e.until - now });
    }
    return out;
  }
}
