/**
 * Names every Redis key and channel of one cache. All of them start with `${prefix}{${name}}:`
 * so they share a Redis Cluster hash tag: a script touching an entry and its tags' generation
 * keys, or a pipeline over the statistics hashes, stays on one slot.
 */
export class CacheKeys {
  /** `${prefix}{${name}}:` */
  readonly base: string;
  /** Prefix of the tag generation keys; the scripts append the tag. */
  readonly tagBase: string;
  /** Channel carrying invalidation messages to every instance of the cache. */
  readonly channel: string;

  constructor(prefix: string, name: string) {
    this.base = `${prefix}{${name}}:`;
    this.tagBase = `${this.base}t:`;
    this.channel = `${this.base}inv`;
  }

  /** The Redis string holding one entry. */
  entry(key: string): string {
    return `${this.base}k:${key}`;
  }

  /** The generation counter of one tag. */
  tag(tag: string): string {
    return this.tagBase + tag;
  }

  /** The fleet single-flight lock of one key. */
  lock(key: string): string {
    return `${this.base}l:${key}`;
  }

  /** The refresh marker of one stored version of an entry (a new write gets a new marker). */
  refresh(key: string, storedAt: number): string {
    return `${this.base}r:${storedAt}:${key}`;
  }

  /** The fleet statistics hash of one minute (minutes since the epoch). */
  statsMinute(minute: number): string {
    return `${this.base}s:${minute}`;
  }

  /** The channel on which one instance receives acknowledgements of its invalidations. */
  ackChannel(instanceId: string): string {
    return `${this.base}ack:${instanceId}`;
  }

  /** The SET of cache names known to the fleet under one prefix. */
  static names(prefix: string): string {
    return `${prefix}flotilla:cache-names`;
  }
}
