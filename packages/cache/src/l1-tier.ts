import { LRUCache } from 'lru-cache';
import type { CacheHit, L1Options } from './types.js';

const DROP_MEMORY = 10_000;

/** One value in the in-process tier, with its two possible answers built once. */
export interface L1Entry<T> {
  readonly fresh: CacheHit<T>;
  readonly stale: CacheHit<T>;
  readonly tags: readonly string[];
  readonly size: number;
}

/**
 * The in-process tier: an LRU bounded by entry count and bytes, plus a tag → keys index so a
 * tag invalidation drops exactly the entries carrying the tag. Every drop gets a new version
 * number, remembered per key and per tag: a Redis read notes the version it started under and
 * fills this tier only if neither its key nor one of its tags was dropped since, so a value
 * read before an invalidation arrived can never be stored after it.
 */
export class L1Tier<T> {
  readonly #lru: LRUCache<string, L1Entry<T>> | undefined;
  readonly #byTag = new Map<string, Set<string>>();
  readonly #maxBytes: number;
  #version = 0;
  // Versions of the last drop of everything, of each key and of each tag.
  #droppedAll = 0;
  readonly #droppedKeys = new Map<string, number>();
  readonly #droppedTags = new Map<string, number>();
  #active: boolean;

  constructor(options: L1Options | false) {
    this.#maxBytes = options ? options.maxBytes : 0;
    this.#active = false;
    this.#lru = options
      ? new LRUCache<string, L1Entry<T>>({
          max: options.maxEntries,
          maxSize: options.maxBytes,
          sizeCalculation: (entry) => entry.size,
          dispose: (entry, key) => this.#unindex(key, entry.tags),
        })
      : undefined;
  }

  /** The version a read starts under; see the class comment. */
  get version(): number {
    return this.#version;
  }

  /** False when disabled by options, before the first subscription and while invalidations may be missed. */
  get active(): boolean {
    return this.#active;
  }

  get entries(): number {
    return this.#lru?.size ?? 0;
  }

  get bytes(): number {
    return this.#lru?.calculatedSize ?? 0;
  }

  /**
   * Stops serving and filling (dropping everything), or starts again. Either way reads already
   * in flight will not fill: they may have missed an invalidation.
   */
  setActive(active: boolean): void {
    this.clear();
    this.#active = active && this.#lru !== undefined;
  }

  /** The hit for `key` at time `now`, dropping it when past its stale period. Allocates nothing. */
  lookup(key: string, now: number): CacheHit<T> | undefined {
    if (!this.#active || !this.#lru) return undefined;
    const entry = this.#lru.get(key);
    if (entry === undefined) return undefined;
    if (now < entry.fresh.expiresAt) return entry.fresh;
    if (now < entry.fresh.staleUntil) return entry.stale;
    this.#lru.delete(key);
    return undefined;
  }

  /** Stores a value read or written under `version`, unless something was dropped since. */
  fill(
    key: string,
    hit: Omit<CacheHit<T>, 'freshness' | 'tier'>,
    tags: readonly string[],
    size: number,
    version: number,
  ): void {
    if (!this.#active || !this.#lru || this.#droppedSince(key, tags, version)) return;
    const bytes = Math.max(1, Math.ceil(size) + key.length * 2);
    if (bytes > this.#maxBytes || Date.now() >= hit.staleUntil) return;
    const base = {
      value: hit.value,
      tier: 'l1' as const,
      storedAt: hit.storedAt,
      expiresAt: hit.expiresAt,
      staleUntil: hit.staleUntil,
    };
    const entry: L1Entry<T> = {
      fresh: Object.freeze({ ...base, freshness: 'fresh' }),
      stale: Object.freeze({ ...base, freshness: 'stale' }),
      tags,
      size: bytes,
    };
    // The set disposes the previous entry (un-indexing its tags) before the new tags go in.
    this.#lru.set(key, entry);
    if (this.#lru.peek(key) !== entry) return;
    for (const tag of tags) {
      let keys = this.#byTag.get(tag);
      if (!keys) this.#byTag.set(tag, (keys = new Set()));
      keys.add(key);
    }
  }

  /** Drops keys. */
  deleteKeys(keys: readonly string[]): void {
    const version = ++this.#version;
    for (const key of keys) {
      this.#droppedKeys.set(key, version);
      this.#lru?.delete(key);
    }
    this.#bound();
  }

  /** Drops every entry carrying one of the tags. */
  deleteTags(tags: readonly string[]): void {
    const version = ++this.#version;
    for (const tag of tags) {
      this.#droppedTags.set(tag, version);
      const keys = this.#byTag.get(tag);
      if (!keys) continue;
      for (const key of [...keys]) this.#lru?.delete(key);
      this.#byTag.delete(tag);
    }
    this.#bound();
  }

  /** Drops everything. */
  clear(): void {
    this.#droppedAll = ++this.#version;
    this.#droppedKeys.clear();
    this.#droppedTags.clear();
    this.#lru?.clear();
    this.#byTag.clear();
  }

  #droppedSince(key: string, tags: readonly string[], version: number): boolean {
    if (this.#droppedAll > version || (this.#droppedKeys.get(key) ?? 0) > version) return true;
    for (const tag of tags) if ((this.#droppedTags.get(tag) ?? 0) > version) return true;
    return false;
  }

  // Past a bound, forget the individual drops and treat them as one drop of everything: reads
  // in flight then skip their fill, which costs a miss, never coherence.
  #bound(): void {
    if (this.#droppedKeys.size + this.#droppedTags.size <= DROP_MEMORY) return;
    this.#droppedAll = this.#version;
    this.#droppedKeys.clear();
    this.#droppedTags.clear();
  }

  #unindex(key: string, tags: readonly string[]): void {
    for (const tag of tags) {
      const keys = this.#byTag.get(tag);
      if (!keys) continue;
      keys.delete(key);
      if (keys.size === 0) this.#byTag.delete(tag);
    }
  }
}
