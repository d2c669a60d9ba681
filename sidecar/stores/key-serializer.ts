/**
 * Runs the operations on one key one after another (a promise chain per key), while operations on
 * different keys run concurrently. The chain of a key is dropped when it drains, so the map holds only
 * keys with work in progress.
 */
export class KeySerializer {
  readonly #tails = new Map<string, Promise<void>>();

  run<T>(key: string, operation: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(operation);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }
}
