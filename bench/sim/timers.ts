/**
 * The simulator's clock: callbacks due at an instant (seconds), run in time order, and among equal
 * instants in the order they were set, so that a run is the same every time.
 */
interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
}

export class Timers {
  readonly #heap: Timer[] = [];
  #seq = 0;

  get size(): number {
    return this.#heap.length;
  }

  at(at: number, run: () => void): void {
    const heap = this.#heap;
    heap.push({ at, seq: this.#seq++, run });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  /** The instant of the next timer, or Infinity. */
  next(): number {
    return this.#heap[0]?.at ?? Infinity;
  }

  /** Runs every timer due at or before `now`, including those that running ones set. */
  runDue(now: number): void {
    while (this.#heap.length > 0 && this.#heap[0]!.at <= now) this.#pop().run();
  }

  #pop(): Timer {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
