/**
 * Shares one run of an async operation among concurrent callers with the same key: the first caller
 * starts it, later callers get the same promise until it settles.
 */
export class SingleFlight<T> {
  private readonly inFlight = new Map<string, Promise<T>>();

  run(key: string, operation: () => Promise<T>): Promise<T> {
    const existing = this.inFlight.get(key);

    if (existing) {
      return existing;
    }

    const promise = operation().finally(() => this.inFlight.delete(key));

    this.inFlight.set(key, promise);

    return promise;
  }
}
