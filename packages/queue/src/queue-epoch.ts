import { RedisEpoch, type RedisClient } from '@flotilla/redis';

/**
 * Joins the epoch of the queue Redis (see {@link RedisEpoch}), kept beside the queues under
 * their prefix so every web and worker of one deployment shares it. Only the queue Redis has
 * one: losing jobs is data loss, losing the cache Redis costs recomputation.
 */
export async function joinQueueEpoch(client: RedisClient, prefix: string): Promise<RedisEpoch> {
  return await RedisEpoch.join(client, `${prefix}:flotilla:epoch`);
}
