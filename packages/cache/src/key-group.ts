/**
 * Names the Redis keys of one key group of a cache: all of them start with `${prefix}{${tag}}:`,
 * so they share one Redis Cluster hash tag and a script touching an entry and the generation
 * keys of its tags stays on one slot. Each group keeps its own copy of every tag generation.
 */
export class KeyGroup {
  /** Position among the cache's groups; group 0 is the cache's own `{name}`. */
  readonly index: number;
  /** `${prefix}{${tag}}:` */
  readonly base: string;
  /** Prefix of the group's tag generation keys; the scripts append the tag. */
  readonly tagBase: string;
  /** A key of the group's slot that no script reads or writes, to route a call to its node. */
  readonly anchor: string;

  constructor(prefix: string, tag: string, index: number) {
    this.index = index;
    this.base = `${prefix}{${tag}}:`;
    this.tagBase = `${this.base}t:`;
    // Group 0's anchor is the cache's channel name, which routed Cache.fence before groups.
    this.anchor = `${this.base}inv`;
  }

  /** The Redis string holding one entry. */
  entry(key: string): string {
    return `${this.base}k:${key}`;
  }

  /** The generation counter of one tag, as this group keeps it. */
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
}
