/**
 * The Redis connections one process may hold on one server, as docs/redis-connections.md states
 * them: the connection tests measure real processes against it.
 */
export const CONNECTION_BUDGET = Object.freeze({
  web: 4,
  /** One blocking connection per queue the worker consumes, besides the shared ones. */
  worker: (consumedQueues: number): number => 3 + consumedQueues,
  /** What a second server (QUEUE_REDIS_URL and CACHE_REDIS_URL apart) may add per process. */
  perExtraServer: 1,
});

/** A process as far as its Redis connections go. */
export type ConnectionHolder =
  | { readonly service: 'web'; readonly durableSubmissions?: boolean; readonly queueShards?: number }
  | { readonly service: 'worker'; readonly consumedQueues: number; readonly queueShards?: number };

/**
 * The connections a process opens, within its budget, on the queue Redis and on the cache Redis
 * when that is another server (`cacheApart`). The connection tests check real processes hold
 * exactly these; the descriptor tests size each platform's Redis plan with them.
 */
export function connectionsHeld(
  holder: ConnectionHolder,
  cacheApart = false,
): { readonly queue: number; readonly cache: number } {
  // The cache's command and pub/sub connections go to its server, or are shared on the queue's.
  const cache = cacheApart ? 2 : 0;
  const shards = holder.queueShards ?? 1;
  if (holder.service === 'web') {
    // Command, job event streams (one per shard), pub/sub (cache invalidation), and durable writes when on.
    const pubsub = cacheApart ? 0 : 1;
    return { queue: 1 + shards + pubsub + (holder.durableSubmissions ? 1 : 0), cache };
  }
  // Command, pub/sub (membership; cache invalidation too when shared), one blocking fetch per queue and shard.
  return { queue: 2 + holder.consumedQueues * shards, cache };
}
