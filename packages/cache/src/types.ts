import type { RedisClient, SharedSubscriber } from '@flotilla/redis';
import type { CacheCodec } from './codec.js';

/** Bounds of the in-process tier: both apply, whichever is reached first evicts. */
export interface L1Options {
  readonly maxEntries: number;
  /** Sum of the entries' sizes (codec `sizeOf`, else encoded length) plus their keys. */
  readonly maxBytes: number;
}

/** Everything {@link Cache.create} needs. */
export interface CacheOptions<T = unknown> {
  /** Label for stats; part of the key namespace. Must not contain `{` or `}`. */
  readonly name: string;
  /** Command connection, owned by the caller and never closed by the cache. */
  readonly redis: RedisClient;
  /** The process's pub/sub connection to the same Redis, shared with its other features; not closed by the cache. */
  readonly subscriber: SharedSubscriber;
  /**
   * Key prefix. Keys are `${prefix}{${name}}:…` (with one key group), so every key of one cache
   * shares a Redis Cluster hash tag and one script never spans slots. Must not contain `{` or
   * `}` when `groups` is more than 1.
   */
  readonly prefix: string;
  /**
   * Key groups the entries are spread over, each under a Redis Cluster hash tag of its own
   * (`{name}`, `{name-k}`…, on slots evenly round the cluster), so a cache is served by several
   * masters. An entry's group is a hash of its key. Reads and writes cost one round trip per
   * node; invalidating a tag and taking a fence cost one script per group. Every process of a
   * fleet must use the same count. Defaults to 1: every key where it always was.
   */
  readonly groups?: number;
  /** The in-process tier; `false` disables it. Defaults to 10 000 entries and 64 MiB. */
  readonly l1?: L1Options | false;
  /** Defaults to {@link jsonCodec}. */
  readonly codec?: CacheCodec<T>;
  /** Fresh period of entries written without `ttlMs`; defaults to 60 000 ms. */
  readonly defaultTtlMs?: number;
  /** How long writes wait for peers' acknowledgements; defaults to 1000 ms. */
  readonly ackTimeoutMs?: number;
  /** How often this process's counters are added to the fleet statistics; defaults to 5000 ms. */
  readonly statsFlushMs?: number;
}

/** How long one entry lives and what it depends on. */
export interface SetOptions {
  /** Fresh period; defaults to the cache's `defaultTtlMs`. */
  readonly ttlMs?: number;
  /** Extra time after `ttlMs` during which the entry is served as stale; defaults to 0. */
  readonly staleMs?: number;
  /** Tags the entry depends on; {@link Cache.invalidateTags} drops every entry carrying one. */
  readonly tags?: readonly string[];
  /**
   * What {@link Cache.fence} returned before the data behind the value was read. The write is
   * skipped when one of its tags was invalidated after that moment: the value may predate the
   * change, and storing it would outlive the invalidation. For values whose tags are known
   * only once computed (a rendered page); `wrap` guards its computations by itself.
   */
  readonly fence?: string;
}

/** One entry for {@link Cache.setMany}. */
export interface CacheEntryInput<T> {
  readonly key: string;
  readonly value: T;
  readonly options?: SetOptions;
}

/** Whether a hit is inside its fresh period or in its stale-while-revalidate period. */
export type Freshness = 'fresh' | 'stale';

/** A value found in the cache. L1 hits are shared objects: do not mutate `value`. */
export interface CacheHit<T> {
  readonly value: T;
  readonly freshness: Freshness;
  readonly tier: 'l1' | 'l2';
  /** Epoch ms when the value was written. */
  readonly storedAt: number;
  /** Epoch ms when the fresh period ends. */
  readonly expiresAt: number;
  /** Epoch ms when the stale period ends and the entry is gone. */
  readonly staleUntil: number;
}

/** What {@link Cache.wrap} returns when this process computed the value itself. */
export interface ComputedValue<T> {
  readonly value: T;
  readonly freshness: 'computed';
  readonly storedAt: number;
  readonly expiresAt: number;
  readonly staleUntil: number;
  /**
   * False when the value was not stored: a tag it depends on was invalidated while it was
   * being computed (it may already be outdated), or Redis refused the write.
   */
  readonly cached: boolean;
}

/** The result of {@link Cache.wrap}: a hit (fresh or stale) or a freshly computed value. */
export type WrapResult<T> = CacheHit<T> | ComputedValue<T>;

/** Options of {@link Cache.wrap}: where the computed value is stored, and how misses coordinate. */
export interface WrapOptions extends SetOptions {
  /**
   * Across processes only one computes (a Redis lock, SET NX PX); the others wait for its
   * value, then compute themselves if it has not arrived within `lockWaitMs`.
   */
  readonly fleetSingleFlight?: boolean;
  /** Lifetime of the fleet lock, so a crashed holder blocks nobody for long; defaults to 10 000 ms. */
  readonly lockTtlMs?: number;
  /** How long a process waits for the lock holder's value; defaults to 5000 ms. */
  readonly lockWaitMs?: number;
  /**
   * Called on a stale hit to refresh the entry in the background (e.g. enqueue a job), at most
   * once per entry and `refreshWindowMs` across the fleet. Without it, a stale hit recomputes
   * in the background with `compute`, deduplicated the same way.
   */
  readonly onStale?: (key: string) => Promise<void> | void;
  /** How long one refresh trigger holds off the others; defaults to 10 000 ms. */
  readonly refreshWindowMs?: number;
}

/** This process's counters for one cache since it was created. */
export interface CacheStatsSnapshot {
  readonly name: string;
  /** Every hit, fresh or stale, from either tier (`l1Hits + l2Hits`). */
  readonly hits: number;
  readonly l1Hits: number;
  readonly l2Hits: number;
  /** Lookups that found nothing (peek misses are not counted; the get that follows is). */
  readonly misses: number;
  /** Hits that were stale; included in `hits`. */
  readonly staleHits: number;
  /** Background refreshes this process triggered. */
  readonly refreshes: number;
  /** Background refreshes that threw. */
  readonly refreshErrors: number;
  /** Keys deleted plus tags invalidated by this process. */
  readonly invalidations: number;
  /** Invalidation messages from peers applied to this process's L1. */
  readonly invalidationsReceived: number;
  /** Entries written by this process. */
  readonly sets: number;
  /** Writes that stopped waiting for peers' acknowledgements after `ackTimeoutMs`. */
  readonly ackTimeouts: number;
  /** Times a fleet single-flight wrap waited for another process's value. */
  readonly fleetWaits: number;
  readonly l1Entries: number;
  readonly l1Bytes: number;
}

/**
 * One thing that happened in a cache, for metrics. The objects are shared constants, so
 * listening costs no allocation; they carry no key (keys would explode metric cardinality).
 * A `stale` event is a hit too.
 */
export type CacheEvent =
  | { readonly cache: string; readonly type: 'hit' | 'stale'; readonly tier: 'l1' | 'l2' }
  | {
      readonly cache: string;
      readonly type: 'miss' | 'set' | 'refresh' | 'refreshError' | 'invalidation' | 'ackTimeout';
    };

/** One minute of fleet-wide statistics of one cache. */
export interface CacheStatsPoint {
  /** Start of the minute, ISO 8601. */
  readonly minute: string;
  readonly hits: number;
  readonly misses: number;
  readonly staleHits: number;
  readonly refreshes: number;
  readonly invalidations: number;
  readonly sets: number;
  /** `hits / (hits + misses)`, or null in a minute without lookups. */
  readonly hitRatio: number | null;
}
