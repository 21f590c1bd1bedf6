import { startRedisServer, type RedisServer } from '@flotilla/local-redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, isReachable, isRedisUnavailableError, waitForReady, type RedisClient } from '../src/index.js';

let server: RedisServer;
const clients: RedisClient[] = [];

function client(role: 'producer' | 'consumer'): RedisClient {
  const c = createRedis({ url: server.url, role });
  c.on('error', () => undefined);
  clients.push(c);
  return c;
}

beforeAll(async () => {
  server = await startRedisServer();
});

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await server.stop();
});

describe('isReachable and isRedisUnavailableError', () => {
  it('reports a live server, then answers false promptly while it is down, for every role', async () => {
    const producer = client('producer');
    const consumer = client('consumer');
    await Promise.all([waitForReady(producer, 5000), waitForReady(consumer, 5000)]);
    expect(await isReachable(producer)).toBe(true);
    expect(await isReachable(consumer)).toBe(true);

    await server.kill('SIGKILL');
    const started = Date.now();
    expect(await isReachable(consumer, 500)).toBe(false);
    expect(await isReachable(producer, 500)).toBe(false);
    // Bounded by the timeouts above, not by the outage.
    expect(Date.now() - started).toBeLessThan(5000);

    const failure = await producer.get('k').then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isRedisUnavailableError(failure)).toBe(true);
    await server.restart();
    await waitForReady(producer, 10_000);
    expect(await isReachable(producer)).toBe(true);
  });

  it('tells an outage from a bad command', async () => {
    const producer = client('producer');
    await waitForReady(producer, 5000);
    const wrongType = await producer
      .set('s', 'v')
      .then(() => producer.lpush('s', 'x'))
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(wrongType).toBeInstanceOf(Error);
    expect(isRedisUnavailableError(wrongType)).toBe(false);
    expect(isRedisUnavailableError(new Error("OOM command not allowed when used memory > 'maxmemory'."))).toBe(true);
    expect(isRedisUnavailableError('Connection is closed.')).toBe(false);
    // What an ioredis Cluster says while a failed master's slots have no master yet.
    expect(
      isRedisUnavailableError(new Error('Too many Cluster redirections. Last error: Error: Connection is closed.')),
    ).toBe(true);
    expect(isRedisUnavailableError(new Error("Cluster isn't ready and enableOfflineQueue options is false"))).toBe(
      true,
    );
  });
});
