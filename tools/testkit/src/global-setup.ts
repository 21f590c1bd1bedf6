import { startRedisServer } from '@flotilla/local-redis';
import type { TestProject } from 'vitest/node';
import type {} from './provided-context.js';

/**
 * Vitest `globalSetup`: starts one private redis-server for the whole run, provides its URL
 * as `redisUrl`, and stops it when the run ends.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await startRedisServer();
  project.provide('redisUrl', redis.url);
  return async () => {
    await redis.stop();
  };
}
