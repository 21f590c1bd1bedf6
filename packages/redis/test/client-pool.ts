import type { EventEmitter } from 'node:events';
import { createRedis, type RedisClient, type RedisConnectionOptions } from '../src/index.js';

/** Creates clients for one test file and disconnects all of them at the end. */
export function clientPool(): { open(options: RedisConnectionOptions): RedisClient; closeAll(): void } {
  const clients: RedisClient[] = [];
  return {
    open(options) {
      const client = createRedis(options);
      // Tests provoke connection errors on purpose; without a listener ioredis prints each one.
      (client as EventEmitter).on('error', () => {});
      clients.push(client);
      return client;
    },
    closeAll() {
      for (const client of clients.splice(0)) client.disconnect();
    },
  };
}

/** Settles with 'pending' when the promise has not settled within `ms`. */
export async function stateAfter(promise: Promise<unknown>, ms: number): Promise<'fulfilled' | 'rejected' | 'pending'> {
  return await Promise.race([
    promise.then(
      () => 'fulfilled' as const,
      () => 'rejected' as const,
    ),
    new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), ms)),
  ]);
}
