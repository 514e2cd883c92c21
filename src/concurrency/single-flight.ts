// One piece of work in flight per key: a caller that asks while it runs shares its promise,
// and the first to ask after it settled starts it again (nothing is kept: a cache, when there
// is one, is its owner's). Three readers use it where the first requests of a crowd, arriving
// together, would each have made the same read of PostgreSQL: a room's settings, a sale's proof
// of work, and the restore of a line Redis forgot.
export class SingleFlight<K, V> {
  private readonly running = new Map<K, Promise<V>>();

  run(key: K, start: () => Promise<V>): Promise<V> {
    let pending = this.running.get(key);
    if (!pending) {
      pending = start().finally(() => this.running.delete(key));
      this.running.set(key, pending);
    }
    return pending;
  }
}
