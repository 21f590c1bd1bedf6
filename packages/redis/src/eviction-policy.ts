import type { RedisClient } from './redis-connection-options.js';

const INFO_POLICY = /^maxmemory_policy:(\S+)/m;

/**
 * Reads the server's `maxmemory-policy`, from INFO memory first because managed Redis
 * (Heroku, ElastiCache, Memorystore) often disables CONFIG, then from CONFIG GET.
 */
export async function readEvictionPolicy(client: RedisClient): Promise<string> {
  const info = await client.info('memory');
  const fromInfo = INFO_POLICY.exec(info)?.[1];
  if (fromInfo) return fromInfo;
  let reply: unknown;
  try {
    reply = await client.config('GET', 'maxmemory-policy');
  } catch (error) {
    throw new Error('Could not read maxmemory-policy: INFO memory does not report it and CONFIG GET failed', {
      cause: error,
    });
  }
  const value: unknown = Array.isArray(reply) ? (reply as unknown[])[1] : undefined;
  if (typeof value !== 'string')
    throw new Error('Could not read maxmemory-policy: neither INFO memory nor CONFIG GET report it');
  return value;
}

/**
 * True when the policy lets Redis delete keys under memory pressure, i.e. anything but
 * `noeviction`: such a server can silently drop queued jobs, so a job queue must warn.
 */
export function isEvictingPolicy(policy: string): boolean {
  return policy.trim().toLowerCase() !== 'noeviction';
}
