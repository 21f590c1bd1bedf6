import { spreadHashTags, spreadIndexOf } from '@flotilla/redis';
import { KeyGroup } from './key-group.js';

/**
 * Names every Redis key and channel of one cache. Its entries are spread over `groups` key
 * groups, each under a hash tag of its own (so on a Redis Cluster over different slots, and
 * masters): group 0 is `${prefix}{${name}}:`, group i `${prefix}{${name}-k}:` with the tags of
 * {@link spreadHashTags}. An entry's group is a hash of its key. With one group every key is
 * where it was before groups existed. What belongs to the cache as a whole (the channel, the
 * statistics hashes) stays under group 0's tag: a pipeline over the statistics stays on one slot.
 */
export class CacheKeys {
  /** Group 0's `${prefix}{${name}}:` */
  readonly base: string;
  /** Channel carrying invalidation messages to every instance of the cache. */
  readonly channel: string;
  readonly groups: readonly [KeyGroup, ...KeyGroup[]];

  constructor(prefix: string, name: string, groups = 1) {
    const [first, ...rest] = spreadHashTags(name, groups).map((tag, i) => new KeyGroup(prefix, tag, i));
    if (!first) throw new TypeError('a cache has at least one key group');
    this.groups = [first, ...rest];
    this.base = first.base;
    this.channel = `${this.base}inv`;
  }

  /** The group holding `key`'s entry, lock and refresh markers: always the same for a key. */
  groupOf(key: string): KeyGroup {
    const { groups } = this;
    return groups[spreadIndexOf(key, groups.length)] ?? groups[0];
  }

  /** The Redis string holding one entry. */
  entry(key: string): string {
    return this.groupOf(key).entry(key);
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
