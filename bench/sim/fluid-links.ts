/**
 * Links and the flows that share them, as fluids: each flow crosses a few capacity-limited links (its
 * sender's upload, its receiver's download, optionally one shared by every flow) and gets a max-min
 * fair rate, the share TCP flows through token buckets settle at. Time advances in fixed steps; a flow
 * that finishes inside a step reports the instant it did.
 *
 * Rates are found by progressive filling: a link that is the tightest of every flow crossing it fixes
 * those flows at its fair share and leaves the rest of their links' capacity to the others. A few rounds
 * settle almost every flow; what is left after them gets its current fair share (never more than any of
 * its links can carry), which errs slow by little.
 */

/** A link index, or NO_LINK for a flow that crosses fewer links. */
export const NO_LINK = -1;
const ROUNDS = 6;

export interface FlowEnd {
  /** Called once the flow's last byte arrived, with that instant (seconds). */
  done(at: number): void;
  /** Called when the flow was cancelled (cancelCrossing). */
  failed(): void;
}

export class FluidLinks {
  readonly #capacity: Float64Array;
  /** A link every flow crosses (a shared CPU), or NO_LINK. */
  readonly #shared: number;
  #links: Int32Array[] = [new Int32Array(0), new Int32Array(0)];
  #remaining = new Float64Array(0);
  #ends: (FlowEnd | undefined)[] = [];
  #rates = new Float64Array(0);
  /** Per flow, scratch for a round: the least fair share among its links. */
  #least = new Float64Array(0);
  #count = 0;
  // Scratch per link, reused every step.
  readonly #left: Float64Array;
  readonly #users: Float64Array;
  readonly #share: Float64Array;
  readonly #tightest: Uint8Array;

  /** `capacity[l]`: link l's bytes per second; `shared`, a link every flow crosses (or NO_LINK). */
  constructor(capacity: readonly number[], shared = NO_LINK) {
    this.#capacity = Float64Array.from(capacity);
    this.#shared = shared;
    const n = capacity.length;
    this.#left = new Float64Array(n);
    this.#users = new Float64Array(n);
    this.#share = new Float64Array(n);
    this.#tightest = new Uint8Array(n);
    this.#grow(1024);
  }

  get active(): number {
    return this.#count;
  }

  /** Starts a flow of `bytes` from link `up` to link `down`; returns a handle for cancel(). */
  start(up: number, down: number, bytes: number, end: FlowEnd): number {
    if (this.#count === this.#remaining.length) this.#grow(this.#count * 2);
    const f = this.#count++;
    this.#links[0]![f] = up;
    this.#links[1]![f] = down;
    this.#remaining[f] = Math.max(1, bytes);
    this.#ends[f] = end;
    return f;
  }

  /** Drops every flow that crosses `link` (a peer that left); returns their ends, to fail them. */
  cancelCrossing(link: number): FlowEnd[] {
    const dropped: FlowEnd[] = [];
    for (let f = 0; f < this.#count;) {
      if (this.#links[0]![f] === link || this.#links[1]![f] === link) {
        dropped.push(this.#ends[f]!);
        this.#removeAt(f);
      } else f++;
    }
    return dropped;
  }

  /** Moves every flow `dt` seconds on from `now`; returns the flows that finished, with their instants. */
  step(now: number, dt: number): { end: FlowEnd; at: number }[] {
    this.#allocate();
    const finished: { end: FlowEnd; at: number }[] = [];
    for (let f = 0; f < this.#count;) {
      const rate = this.#rates[f]!;
      const before = this.#remaining[f]!;
      const after = before - rate * dt;
      if (after <= 0) {
        finished.push({ end: this.#ends[f]!, at: now + before / rate });
        this.#removeAt(f);
      } else {
        this.#remaining[f] = after;
        f++;
      }
    }
    return finished;
  }

  #allocate(): void {
    const n = this.#capacity.length;
    const left = this.#left;
    const users = this.#users;
    const share = this.#share;
    const tight = this.#tightest;
    const [ups, downs] = this.#links as [Int32Array, Int32Array];
    const rates = this.#rates;
    const least = this.#least;
    const shared = this.#shared;
    left.set(this.#capacity);
    users.fill(0);
    const count = this.#count;
    for (let f = 0; f < count; f++) {
      rates[f] = -1; // not fixed yet
      users[ups[f]!]!++;
      if (downs[f]! !== NO_LINK) users[downs[f]!]!++;
    }
    if (shared !== NO_LINK) users[shared] = count;
    for (let round = 0; round <= ROUNDS; round++) {
      for (let l = 0; l < n; l++) share[l] = users[l]! > 0 ? left[l]! / users[l]! : Infinity;
      tight.fill(1);
      // A link stays "tightest" only if no flow crossing it is held lower by another of its links.
      for (let f = 0; f < count; f++) {
        if (rates[f]! >= 0) continue;
        const up = ups[f]!;
        const down = downs[f]!;
        const m = this.#leastShare(up, down, share);
        least[f] = m;
        if (share[up]! > m) tight[up] = 0;
        if (down !== NO_LINK && share[down]! > m) tight[down] = 0;
        if (shared !== NO_LINK && share[shared]! > m) tight[shared] = 0;
      }
      const last = round === ROUNDS;
      let open = 0;
      for (let f = 0; f < count; f++) {
        if (rates[f]! >= 0) continue;
        const up = ups[f]!;
        const down = downs[f]!;
        // Shares are not updated within a round: the bound found above still holds.
        const m = least[f]!;
        const fixes =
          last ||
          (tight[up] === 1 && share[up] === m) ||
          (down !== NO_LINK && tight[down] === 1 && share[down] === m) ||
          (shared !== NO_LINK && tight[shared] === 1 && share[shared] === m);
        if (!fixes) {
          open++;
          continue;
        }
        rates[f] = m;
        // A fixed flow's rate leaves its links for the others.
        left[up] = left[up]! - m;
        users[up]!--;
        if (down !== NO_LINK) {
          left[down] = left[down]! - m;
          users[down]!--;
        }
        if (shared !== NO_LINK) {
          left[shared] = left[shared]! - m;
          users[shared]!--;
        }
      }
      if (open === 0) break;
    }
  }

  #leastShare(up: number, down: number, share: Float64Array): number {
    let m = share[up]!;
    if (down !== NO_LINK && share[down]! < m) m = share[down]!;
    if (this.#shared !== NO_LINK && share[this.#shared]! < m) m = share[this.#shared]!;
    return m;
  }

  /** Removes flow f by moving the last flow into its place (order does not matter). */
  #removeAt(f: number): void {
    const last = --this.#count;
    if (f !== last) {
      this.#links[0]![f] = this.#links[0]![last]!;
      this.#links[1]![f] = this.#links[1]![last]!;
      this.#remaining[f] = this.#remaining[last]!;
      this.#ends[f] = this.#ends[last];
    }
    this.#ends[last] = undefined;
  }

  #grow(size: number): void {
    const grown = (a: Int32Array): Int32Array => {
      const b = new Int32Array(size);
      b.set(a);
      return b;
    };
    this.#links = [grown(this.#links[0]!), grown(this.#links[1]!)];
    const remaining = new Float64Array(size);
    remaining.set(this.#remaining);
    this.#remaining = remaining;
    this.#rates = new Float64Array(size);
    this.#least = new Float64Array(size);
    this.#ends.length = size;
  }
}
