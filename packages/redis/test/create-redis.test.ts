import { startRedisServer, freePort, type RedisServer } from '@flotilla/local-redis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createRedis, RedisNotReadyError, waitForReady } from '../src/index.js';
import { clientPool, stateAfter } from './client-pool.js';

const pool = clientPool();
const servers: RedisServer[] = [];
afterEach(() => pool.closeAll());
afterAll(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

async function server(): Promise<RedisServer> {
  const started = await startRedisServer();
  servers.push(started);
  return started;
}

describe('producer', () => {
  it('fails fast while Redis is down and recovers by itself when it is back', async () => {
    const redis = await server();
    const client = pool.open({ url: redis.url, role: 'producer', connectionName: 'flotilla:test:producer' });
    await waitForReady(client, 5_000);
    expect(await client.client('GETNAME')).toBe('flotilla:test:producer');

    await redis.kill('SIGKILL');
    const started = performance.now();
    await expect(client.get('k')).rejects.toThrow();
    expect(performance.now() - started).toBeLessThan(3_000);
    // Once the loss is known, commands are refused on the spot instead of queued.
    await expect(client.set('k', 'v')).rejects.toThrow(/enableOfflineQueue/);

    await redis.restart();
    await waitForReady(client, 10_000);
    expect(await client.set('k', 'v')).toBe('OK');
    expect(await client.get('k')).toBe('v');
  });

  it('refuses commands issued before the first connection is ready, which is why waitForReady exists', async () => {
    const redis = await server();
    const client = pool.open({ url: redis.url, role: 'producer' });
    await expect(client.ping()).rejects.toThrow(/enableOfflineQueue/);
    await waitForReady(client, 5_000);
    expect(await client.ping()).toBe('PONG');
  });

  it('times a command out when Redis stalls instead of hanging', async () => {
    const redis = await server();
    const admin = pool.open({ url: redis.url, role: 'producer' });
    const client = pool.open({ url: redis.url, role: 'producer', commandTimeoutMs: 200 });
    await Promise.all([waitForReady(admin, 5_000), waitForReady(client, 5_000)]);
    // WRITE mode stalls the SET but lets the admin's UNPAUSE through.
    await admin.client('PAUSE', 5_000, 'WRITE');
    try {
      await expect(client.set('k', 'v')).rejects.toThrow(/Command timed out/);
    } finally {
      await admin.client('UNPAUSE');
    }
  });
});

describe('consumer', () => {
  it('holds a command while Redis is down and completes it once Redis is back', async () => {
    const redis = await server();
    const client = pool.open({ url: redis.url, role: 'consumer' });
    await waitForReady(client, 5_000);

    await redis.kill('SIGKILL');
    const pending = client.set('k', 'v');
    expect(await stateAfter(pending, 500)).toBe('pending');

    await redis.restart();
    await expect(pending).resolves.toBe('OK');
    expect(await client.get('k')).toBe('v');
  });

  it('has maxRetriesPerRequest null, as BullMQ requires for blocking connections', () => {
    const client = pool.open({ url: 'redis://127.0.0.1:1', role: 'consumer' });
    expect(client.options).toMatchObject({ maxRetriesPerRequest: null, enableOfflineQueue: true, protocol: 2 });
  });
});

describe('subscriber', () => {
  it('resubscribes after Redis comes back', async () => {
    const redis = await server();
    const subscriber = pool.open({ url: redis.url, role: 'subscriber' });
    const publisher = pool.open({ url: redis.url, role: 'producer' });
    await waitForReady(publisher, 5_000);
    const received: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => received.push(message));
    await subscriber.subscribe('news');

    await redis.kill('SIGKILL');
    await redis.restart();
    await Promise.all([waitForReady(subscriber, 10_000), waitForReady(publisher, 10_000)]);
    // The subscriber is ready before its SUBSCRIBE is replayed; publish until it arrives.
    for (let i = 0; i < 100 && received.length === 0; i++) {
      await publisher.publish('news', 'back');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(received).toContain('back');
  });
});

describe('waitForReady', () => {
  it('rejects after the timeout with the last connection error', async () => {
    const client = pool.open({ url: `redis://127.0.0.1:${await freePort()}`, role: 'producer' });
    const started = performance.now();
    const error = await waitForReady(client, 300).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RedisNotReadyError);
    expect((error as Error).message).toMatch(/not ready within 300 ms; last error: .*ECONNREFUSED/);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('rejects at once for a closed client', async () => {
    const client = pool.open({ url: `redis://127.0.0.1:${await freePort()}`, role: 'consumer' });
    client.disconnect();
    await expect(waitForReady(client, 5_000)).rejects.toThrow(/closed/);
  });
});

describe('createRedis options', () => {
  it.each([
    [{ url: 'redis://h', role: 'worker' }, /role must be producer, consumer or subscriber/],
    [{ url: 'redis://h', role: 'producer', connectionName: 'has space' }, /connectionName must be printable ASCII/],
    [{ url: 'redis://h', role: 'producer', commandTimeoutMs: 0 }, /commandTimeoutMs must be a positive integer/],
    [{ url: 'rediss://h', role: 'producer', allowSelfSignedTls: true, tlsCa: 'pem' }, /exclude each other/],
    [{ url: 'redis://:pw@h:x', role: 'producer' }, /port "x"/],
  ])('rejects %j', (options, message) => {
    expect(() => createRedis(options as Parameters<typeof createRedis>[0])).toThrow(message);
  });
});
