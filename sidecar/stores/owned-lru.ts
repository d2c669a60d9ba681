/**
 * The bookkeeping both stores share: two LRU lists (blocks this peer owns, and the rest), with byte and
 * entry totals. Maps iterate in insertion order, so "move to most recent" is delete + set and the
 * least recently used entry is the first one. Eviction takes from the unowned list first.
 */

export interface Sized {
  readonly size: number;
}

export class OwnedLru<V extends Sized> {
  readonly #owned = new Map<string, V>();
  readonly #other = new Map<string, V>();
  #bytes = 0;

  get bytes(): number {
    return this.#bytes;
  }

  get entries(): number {
    return this.#owned.size + this.#other.size;
  }

  has(key: string): boolean {
    return this.#other.has(key) || this.#owned.has(key);
  }

  /** The entry and whether it is owned, without touching its recency. */
  peek(key: string): { value: V; owned: boolean } | undefined {
    const other = this.#other.get(key);
    if (other !== undefined) return { value: other, owned: false };
    const owned = this.#owned.get(key);
    return owned === undefined ? undefined : { value: owned, owned: true };
  }

  /** The entry, made most recently used in its class. */
  touch(key: string): V | undefined {
    const found = this.peek(key);
    if (!found) return undefined;
    const list = found.owned ? this.#owned : this.#other;
    list.delete(key);
    list.set(key, found.value);
    return found.value;
  }

  /** Inserts as most recently used (replacing any entry of the same key). */
  set(key: string, value: V, owned: boolean): void {
    this.delete(key);
    (owned ? this.#owned : this.#other).set(key, value);
    this.#bytes += value.size;
  }

  delete(key: string): V | undefined {
    const found = this.peek(key);
    if (!found) return undefined;
    (found.owned ? this.#owned : this.#other).delete(key);
    this.#bytes -= found.value.size;
    return found.value;
  }

  /** The next victim: the least recently used unowned entry, else the least recently used owned one. */
  victim(): { key: string; value: V; owned: boolean } | undefined {
    for (const list of [this.#other, this.#owned]) {
      const first = list.entries().next();
      if (!first.done) return { key: first.value[0], value: first.value[1], owned: list === this.#owned };
    }
    return undefined;
  }

  keys(): string[] {
    return [...this.#other.keys(), ...this.#owned.keys()];
  }
}
