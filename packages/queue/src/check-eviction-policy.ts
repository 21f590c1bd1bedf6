import type { EvictionPolicyCheck } from '@flotilla/config';
import { isEvictingPolicy, readEvictionPolicy, type RedisClient } from '@flotilla/redis';
import type { Logger } from '@flotilla/telemetry';

/**
 * BullMQ keeps jobs as ordinary keys: a Redis that evicts under memory pressure silently drops
 * queued jobs. Checked at boot; `refuse` makes a misconfigured Redis stop the process.
 */
export async function checkEvictionPolicy(
  client: RedisClient,
  mode: EvictionPolicyCheck,
  logger: Logger,
): Promise<void> {
  if (mode === 'off') return;
  const policy = await readEvictionPolicy(client);
  if (!isEvictingPolicy(policy)) return;
  const message = `the queue Redis has maxmemory-policy ${policy}: it may evict queued jobs under memory pressure; set it to noeviction (or point QUEUE_REDIS_URL at a Redis that has it)`;
  if (mode === 'refuse') throw new Error(message);
  logger.warn({ maxmemoryPolicy: policy }, message);
}
