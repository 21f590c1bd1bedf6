import { startRedisServer, type RedisServer } from '@flotilla/local-redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisEpoch, waitForReady, type RedisClient } from '../src/index.js';
import { clientPool } from './client-pool.js';

const pool = clientPool();
let server: RedisServer;
let a: RedisClient;
let b: RedisClient;

beforeAll(async () => {
  server = await startRedisServer();
  a = pool.open({ url: server.url, role: 'producer' });
  b = pool.open({ url: server.url, role: 'consumer' });
  await Promise.all([waitForReady(a, 5000), waitForReady(b, 5000)]);
});

afterAll(async () => {
  pool.closeAll();
  await server.stop();
});

describe('RedisEpoch', () => {
  it('is shared by every process that joins while the key is there', async () => {
    const [first, second] = await Promise.all([RedisEpoch.join(a, 'epoch:shared'), RedisEpoch.join(b, 'epoch:shared')]);
    expect(first.value).toBe(second.value);
    expect(await first.check()).toBe('intact');
  });

  it('is lost for good once the key is gone, even after a new epoch was written', async () => {
    const epoch = await RedisEpoch.join(a, 'epoch:flushed');
    await b.del('epoch:flushed');
    const next = await RedisEpoch.join(b, 'epoch:flushed');
    expect(next.value).not.toBe(epoch.value);
    expect(await epoch.check()).toBe('lost');
    expect(epoch.lost).toBe(true);
    expect(await next.check()).toBe('intact');
  });

  it('is unknown, not lost, while Redis is down', async () => {
    const epoch = await RedisEpoch.join(b, 'epoch:outage');
    await server.kill('SIGKILL');
    try {
      const started = Date.now();
      expect(await epoch.check(500)).toBe('unknown');
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await server.restart();
    }
    await waitForReady(b, 10_000);
    // The server came back empty (no persistence): now the answer is definite.
    expect(await epoch.check()).toBe('lost');
  });
});
