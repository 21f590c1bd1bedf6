/**
 * Runs at most one call per key at a time in this process: callers arriving while one is in
 * flight share its promise, result or error alike. Hand-written because it is a map of
 * promises; the libraries that offer it bring a cache of their own.
 */
export class SingleFlight<T> {
  readonly #inFlight = new Map<string, Promise<T>>();

  /** The running call for `key`, or a new one of `fn`. */
  async run(key: string, fn: () => Promise<T>): Promise<T> {
    const running = this.#inFlight.get(key);
    if (running) return await running;
    // Async, so that a function throwing synchronously still yields a rejected promise.
    const call = (async () => await fn())();
    const shared = call.finally(() => {
      if (this.#inFlight.get(key) === shared) this.#inFlight.delete(key);
    });
    this.#inFlight.set(key, shared);
    return await shared;
  }
}
