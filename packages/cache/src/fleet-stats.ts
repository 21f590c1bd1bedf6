import type { RedisClient } from '@flotilla/redis';
import { CacheKeys } from './cache-keys.js';
import type { CacheStatsPoint } from './types.js';

const MINUTE_MS = 60_000;

/**
 * The fleet-wide statistics of one cache over the last `minutes` minutes (the current one
 * included), oldest first, one point per minute, zeros where nothing was counted. Every
 * process's counters are summed; they arrive every `statsFlushMs`, so the newest minute lags.
 */
export async function readCacheStats(
  redis: RedisClient,
  prefix: string,
  name: string,
  minutes = 60,
): Promise<CacheStatsPoint[]> {
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > 60 * 24 * 2) {
    throw new TypeError(`readCacheStats: minutes must be an integer from 1 to 2880, got ${String(minutes)}`);
  }
  const keys = new CacheKeys(prefix, name);
  const last = Math.floor(Date.now() / MINUTE_MS);
  const range = Array.from({ length: minutes }, (_, i) => last - minutes + 1 + i);
  // All hashes share the cache's hash tag, so this pipeline is one slot even on a Cluster.
  const pipeline = redis.pipeline();
  for (const minute of range) pipeline.hgetall(keys.statsMinute(minute));
  const replies = (await pipeline.exec()) ?? [];
  return range.map((minute, i) => {
    const [error, hash] = replies[i] ?? [null, {}];
    if (error) throw error;
    const field = (name: string): number => Number((hash as Record<string, string>)[name] ?? 0);
    const hits = field('hits');
    const misses = field('misses');
    return {
      minute: new Date(minute * MINUTE_MS).toISOString(),
      hits,
      misses,
      staleHits: field('staleHits'),
      refreshes: field('refreshes'),
      invalidations: field('invalidations'),
      sets: field('sets'),
      hitRatio: hits + misses > 0 ? hits / (hits + misses) : null,
    };
  });
}

/** Names of the caches created under `prefix` by any process of the fleet, sorted. */
export async function listCacheNames(redis: RedisClient, prefix: string): Promise<string[]> {
  return (await redis.smembers(CacheKeys.names(prefix))).sort();
}
