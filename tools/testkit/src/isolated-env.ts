import { randomBytes } from 'node:crypto';
import { uniqueQueuePrefix } from './queue-prefix.js';

/**
 * The variables that keep one test's services apart from every other test's on a shared Redis.
 * A type, not an interface, so it passes where an environment record is expected.
 */
export type IsolatedServiceEnv = {
  readonly REDIS_URL: string;
  readonly QUEUE_PREFIX: string;
  readonly CACHE_PREFIX: string;
  readonly DATA_PREFIX: string;
  readonly LOG_LEVEL: string;
};

/**
 * Environment for services started by one test: the run's Redis, and queue, cache and content
 * key prefixes no other test uses, so tests may run in parallel on one Redis.
 */
export function isolatedServiceEnv(redisUrl: string): IsolatedServiceEnv {
  const tag = randomBytes(4).toString('hex');
  return {
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: uniqueQueuePrefix(),
    CACHE_PREFIX: `t-${tag}:cache:`,
    DATA_PREFIX: `t-${tag}:data:`,
    LOG_LEVEL: 'warn',
  };
}
