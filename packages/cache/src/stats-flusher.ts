import { LuaScript, type RedisClient } from '@flotilla/redis';
import type { CacheKeys } from './cache-keys.js';
import type { CacheStats, FleetField } from './cache-stats.js';

/** How long a minute of fleet statistics is kept. */
export const STATS_RETENTION_MS = 2 * 24 * 60 * 60 * 1000;
const MINUTE_MS = 60_000;

// KEYS: the minute's hash. ARGV: ttl, then field, increment pairs. One command, so a Cluster
// client needs no multi-command pipeline and the increments land together.
const addStatsScript = new LuaScript(`
for i = 2, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`);

/**
 * Adds this process's counters to the fleet's per-minute statistics hashes every
 * `intervalMs` and on stop, so hits are counted in memory and Redis sees one write per
 * interval. Increments are filed under the minute of the flush (at most one interval late).
 * A failed flush keeps its increments for the next one.
 */
export class StatsFlusher {
  readonly #redis: RedisClient;
  readonly #keys: CacheKeys;
  readonly #stats: CacheStats;
  readonly #timer: NodeJS.Timeout;
  #flushing: Promise<void> = Promise.resolve();

  constructor(redis: RedisClient, keys: CacheKeys, stats: CacheStats, intervalMs: number) {
    this.#redis = redis;
    this.#keys = keys;
    this.#stats = stats;
    this.#timer = setInterval(() => void this.flush(), intervalMs);
    this.#timer.unref();
  }

  /** Writes what was counted since the last flush; never rejects. */
  async flush(): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#write());
    await this.#flushing;
  }

  /** Stops the timer and flushes one last time. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }

  async #write(): Promise<void> {
    const deltas = this.#stats.deltas();
    const fields = Object.entries(deltas) as [FleetField, number][];
    if (fields.length === 0) return;
    const minute = Math.floor(Date.now() / MINUTE_MS);
    try {
      await addStatsScript.run(this.#redis, [this.#keys.statsMinute(minute)], [STATS_RETENTION_MS, ...fields.flat()]);
    } catch {
      this.#stats.restore(deltas);
    }
  }
}
