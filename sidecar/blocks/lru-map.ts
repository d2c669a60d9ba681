/**
 * A Map bounded by total weight, dropping least recently used entries: the engine's side tables
 * (verified blobs, who supplied which block, suspect blobs) are caches too, and bounded like them.
 */
export class LruMap<K, V> {
  readonly #map = new Map<K, V>();
  readonly #maxWeight: number;
  readonly #weigh: (value: V) => number;
  #weight = 0;

  constructor(maxWeight: number, weigh: (value: V) => number = () => 1) {
    this.#maxWeight = maxWeight;
    this.#weigh = weigh;
  }

  get size(): number {
    return this.#map.size;
  }

  get weight(): number {
    return this.#weight;
  }

  /** The value, made most recently used. */
  get(key: K): V | undefined {
    const value = this.#map.get(key);
    if (value === undefined) return undefined;
    this.#map.delete(key);
    this.#map.set(key, value);
    return value;
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  set(key: K, value: V): void {
    this.delete(key);
    const weight = this.#weigh(value);
    if (weight > this.#maxWeight) return;
    this.#map.set(key, value);
    this.#weight += weight;
    for (const [oldest, old] of this.#map) {
      if (this.#weight <= this.#maxWeight) break;
      this.#map.delete(oldest);
      this.#weight -= this.#weigh(old);
    }
  }

  delete(key: K): boolean {
    const value = this.#map.get(key);
    if (value === undefined) return false;
    this.#map.delete(key);
    this.#weight -= this.#weigh(value);
    return true;
  }
}
