import type { StoredEntry } from './entry-format.js';
import { CacheKeys } from './cache-keys.js';
import { CacheStats } from './cache-stats.js';
import { InvalidationBus } from './invalidation-bus.js';
import { L1Tier } from './l1-tier.js';
import { CacheWriter } from './cache-writer.js';
import { RedisTier } from './redis-tier.js';
import { StatsFlusher } from './stats-flusher.js';
import type {
  CacheEntryInput,
  CacheEvent,
  CacheHit,
  CacheOptions,
  CacheStatsSnapshot,
  SetOptions,
  WrapOptions,
  WrapResult,
} from './types.js';
import {
  checkKey,
  checkKeys,
  checkTags,
  resolveCacheOptions,
  resolveSetOptions,
  type ResolvedCacheOptions,
} from './validate.js';
import { Wrapper } from './wrapper.js';

/**
 * A two-tier cache that stays coherent across a fleet of processes: an in-process LRU (L1) in
 * front of Redis (L2), stale-while-revalidate, tag invalidation by generation counters, and
 * writes that resolve only once every other instance has dropped the old value from its L1.
 * Bad arguments are refused with a TypeError before anything reaches Redis.
 */
export class Cache<T = unknown> {
  /** The cache's name, as given. */
  readonly name: string;
  readonly #options: ResolvedCacheOptions<T>;
  readonly #tier: RedisTier;
  readonly #l1: L1Tier<T>;
  readonly #bus: InvalidationBus;
  readonly #stats: CacheStats;
  readonly #writer: CacheWriter<T>;
  readonly #flusher: StatsFlusher;
  readonly #wrapper: Wrapper<T>;
  #closing: Promise<void> | undefined;

  private constructor(
    options: ResolvedCacheOptions<T>,
    tier: RedisTier,
    l1: L1Tier<T>,
    bus: InvalidationBus,
    stats: CacheStats,
    keys: CacheKeys,
  ) {
    this.name = options.name;
    this.#options = options;
    this.#tier = tier;
    this.#l1 = l1;
    this.#bus = bus;
    this.#stats = stats;
    this.#writer = new CacheWriter({ codec: options.codec, tier, l1, bus, stats });
    this.#flusher = new StatsFlusher(options.redis, keys, stats, options.statsFlushMs);
    this.#wrapper = new Wrapper<T>({
      tier,
      bus,
      stats,
      defaultTtlMs: options.defaultTtlMs,
      groups: options.groups,
      peek: (key) => this.peek(key),
      get: (key) => this.get(key),
      read: async (key) => (await this.#fetch([key], false))[0],
      store: (key, value, set, expected) => this.#writer.store(key, value, set, expected),
    });
  }

  /** Creates a cache; resolves once its invalidation subscription is live. */
  static async create<T>(options: CacheOptions<T>): Promise<Cache<T>> {
    const resolved = resolveCacheOptions(options);
    const keys = new CacheKeys(resolved.prefix, resolved.name, resolved.groups);
    const tier = new RedisTier(resolved.redis, keys);
    const l1 = new L1Tier<T>(resolved.l1);
    const stats = new CacheStats(resolved.name);
    const bus = await InvalidationBus.start({
      redis: resolved.redis,
      subscriber: resolved.subscriber,
      keys,
      ackTimeoutMs: resolved.ackTimeoutMs,
      handlers: {
        onInvalidate(changedKeys, tags) {
          if (changedKeys.length) l1.deleteKeys(changedKeys);
          if (tags.length) l1.deleteTags(tags);
          stats.invalidationReceived();
        },
        onConnectionChange: (up) => l1.setActive(up),
        onAckTimeout: () => stats.ackTimeout(),
      },
    });
    l1.setActive(bus.up);
    await Promise.all([
      tier.preload(),
      resolved.redis.sadd(CacheKeys.names(resolved.prefix), resolved.name).catch(() => 0),
    ]);
    return new Cache(resolved, tier, l1, bus, stats, keys);
  }

  /**
   * Whether the in-process tier is in use: false when disabled, after close, and while the
   * invalidation subscription is down (it may have missed invalidations, so L1 was dropped).
   */
  get l1Active(): boolean {
    return this.#l1.active;
  }

  /**
   * The L1 entry for `key`, synchronously, without Redis: the fast path. Counts a hit when it
   * finds one; a miss is not counted, since the caller goes on to {@link get}.
   */
  peek(key: string): CacheHit<T> | undefined {
    if (typeof key !== 'string' || key === '') checkKey(key);
    const hit = this.#l1.lookup(key, Date.now());
    if (hit) this.#stats.hit('l1', hit.freshness === 'stale');
    return hit;
  }

  /** Looks in L1, then in Redis; a Redis hit fills L1. */
  async get(key: string): Promise<CacheHit<T> | undefined> {
    checkKey(key);
    return (await this.getMany([key]))[0];
  }

  /**
   * Looks every key up in L1 first, and all the rest in one Redis round trip per node (one
   * script per key group, pipelined per node).
   */
  async getMany(keys: readonly string[]): Promise<(CacheHit<T> | undefined)[]> {
    checkKeys(keys);
    this.#assertOpen();
    return await this.#fetch(keys, true);
  }

  /** Writes one entry; resolves once every other instance dropped the key from its L1. */
  async set(key: string, value: T, options?: SetOptions): Promise<void> {
    await this.setMany([options === undefined ? { key, value } : { key, value, options }]);
  }

  /**
   * Writes entries in one round trip per node; resolves once every other instance dropped them
   * from L1. With several key groups the groups' writes are separate scripts: a reader may see
   * some of the entries written before the others, never a half-written entry.
   */
  async setMany(entries: readonly CacheEntryInput<T>[]): Promise<void> {
    const list: unknown = entries;
    if (!Array.isArray(list)) throw new TypeError('cache setMany takes an array of { key, value, options }');
    const prepared = entries.map(({ key, value, options }) => {
      checkKey(key);
      return this.#writer.prepare(
        key,
        value,
        resolveSetOptions(options, this.#options.defaultTtlMs, this.#options.groups),
      );
    });
    this.#assertOpen();
    if (prepared.length) await this.#writer.write(prepared);
  }

  /** Deletes keys everywhere; resolves once every other instance dropped them from L1. */
  async delete(keys: string | readonly string[]): Promise<void> {
    const list = typeof keys === 'string' ? [keys] : keys;
    checkKeys(list);
    this.#assertOpen();
    if (list.length) await this.#writer.remove(list);
  }

  /**
   * Invalidates every entry carrying one of the tags: O(1) Redis work per tag and key group (its
   * generation moves on in each group; entries are not scanned). Resolves once every other
   * instance dropped them from L1. With several key groups, each group moves on by itself (all
   * at once, but not as one atomic step): until this resolves, a reader may find some of the tag's
   * entries invalid and others not yet; once it resolves, none is served, from either tier.
   */
  async invalidateTags(tags: readonly string[]): Promise<void> {
    checkTags(tags);
    this.#assertOpen();
    if (tags.length) await this.#writer.invalidateTags(tags);
  }

  /**
   * Redis's clock now, for {@link SetOptions.fence}: take it before reading the data a value is
   * computed from, and a write of that value is skipped if one of its tags was invalidated
   * since. One round trip per node: with several key groups it reads the clock of every group's
   * node (an entry is fenced against its own group's clock) and lists them, comma-separated; a
   * fence is valid only for the cache that took it.
   */
  async fence(): Promise<string> {
    this.#assertOpen();
    return await this.#tier.fence();
  }

  /**
   * The value of `key`: a fresh hit as is; a stale hit at once, refreshing it in the background
   * (`onStale`, or `compute` when no `onStale` is given) at most once per entry and refresh
   * window across the fleet; on a miss, `compute` (once per process, and once per fleet with
   * `fleetSingleFlight`), stored with `options`. Errors from `compute` propagate, nothing is stored.
   */
  async wrap(key: string, compute: () => Promise<T>, options?: WrapOptions): Promise<WrapResult<T>> {
    this.#assertOpen();
    return await this.#wrapper.wrap(key, compute, options);
  }

  /**
   * For a hit obtained from {@link peek} or {@link get}: when it is stale, starts the background
   * refresh {@link wrap} would (same options, same fleet-wide de-duplication) without looking
   * the key up again; does nothing for a fresh hit.
   */
  revalidate(key: string, hit: CacheHit<T>, compute: () => Promise<T>, options?: WrapOptions): void {
    this.#assertOpen();
    this.#wrapper.revalidate(key, hit, compute, options);
  }

  /** This process's counters since the cache was created. */
  stats(): CacheStatsSnapshot {
    return this.#stats.snapshot(this.#l1.entries, this.#l1.bytes);
  }

  /** Calls `listener` for every hit, miss, set, refresh, invalidation…; returns the unsubscribe. */
  onEvent(listener: (event: CacheEvent) => void): () => void {
    return this.#stats.onEvent(listener);
  }

  /** Unsubscribes, flushes the statistics. Idempotent. */
  async close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#l1.setActive(false);
      await Promise.all([this.#bus.close(), this.#flusher.stop()]);
    })();
    await this.#closing;
  }

  #assertOpen(): void {
    if (this.#closing) throw new Error(`Cache "${this.name}" is closed`);
  }

  async #fetch(keys: readonly string[], count: boolean): Promise<(CacheHit<T> | undefined)[]> {
    const now = Date.now();
    const hits: (CacheHit<T> | undefined)[] = new Array<CacheHit<T> | undefined>(keys.length);
    const missing: number[] = [];
    keys.forEach((key, i) => {
      const hit = this.#l1.lookup(key, now);
      if (hit === undefined) missing.push(i);
      else {
        hits[i] = hit;
        if (count) this.#stats.hit('l1', hit.freshness === 'stale');
      }
    });
    if (missing.length === 0) return hits;
    const version = this.#l1.version;
    const entries = await this.#tier.read(missing.map((i) => keys[i] ?? ''));
    const after = Date.now();
    let misses = 0;
    missing.forEach((index, j) => {
      const hit = this.#fromRedis(keys[index] ?? '', entries[j], after, version);
      hits[index] = hit;
      if (!count) return;
      if (hit) this.#stats.hit('l2', hit.freshness === 'stale');
      else misses++;
    });
    if (misses) this.#stats.miss(misses);
    return hits;
  }

  #fromRedis(key: string, entry: StoredEntry | undefined, now: number, version: number): CacheHit<T> | undefined {
    if (!entry || now >= entry.staleUntil) return undefined;
    let value: T;
    try {
      value = this.#options.codec.decode(entry.value);
    } catch {
      // Bytes the codec no longer reads (a changed format) are a miss; the next write replaces them.
      return undefined;
    }
    const hit: CacheHit<T> = {
      value,
      freshness: now < entry.freshUntil ? 'fresh' : 'stale',
      tier: 'l2',
      storedAt: entry.storedAt,
      expiresAt: entry.freshUntil,
      staleUntil: entry.staleUntil,
    };
    this.#l1.fill(key, hit, entry.tags, this.#options.codec.sizeOf?.(value) ?? entry.value.length, version);
    return hit;
  }
}
