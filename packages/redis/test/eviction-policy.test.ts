import { startRedisServer, type RedisServer } from '@flotilla/local-redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isEvictingPolicy, readEvictionPolicy, waitForReady } from '../src/index.js';
import { clientPool } from './client-pool.js';

const pool = clientPool();
let evicting: RedisServer | undefined;
let plain: RedisServer | undefined;

beforeAll(async () => {
  [evicting, plain] = await Promise.all([
    // CONFIG renamed away, as on managed Redis, so only INFO can answer.
    startRedisServer({ args: ['--maxmemory-policy', 'allkeys-lru', '--rename-command', 'CONFIG', ''] }),
    startRedisServer(),
  ]);
});
afterEach(() => pool.closeAll());
afterAll(async () => {
  await Promise.all([evicting?.stop(), plain?.stop()]);
});

describe('readEvictionPolicy', () => {
  it('reads allkeys-lru through INFO on a server without CONFIG', async () => {
    const client = pool.open({ url: evicting!.url, role: 'producer' });
    await waitForReady(client, 5_000);
    await expect(client.config('GET', 'maxmemory-policy')).rejects.toThrow(/unknown command/i);
    const policy = await readEvictionPolicy(client);
    expect(policy).toBe('allkeys-lru');
    expect(isEvictingPolicy(policy)).toBe(true);
  });

  it('reads the default noeviction', async () => {
    const client = pool.open({ url: plain!.url, role: 'producer' });
    await waitForReady(client, 5_000);
    const policy = await readEvictionPolicy(client);
    expect(policy).toBe('noeviction');
    expect(isEvictingPolicy(policy)).toBe(false);
  });
});

describe('isEvictingPolicy', () => {
  it.each([
    ['noeviction', false],
    ['NoEviction', false],
    ['allkeys-lru', true],
    ['volatile-lru', true],
    ['allkeys-lfu', true],
    ['volatile-ttl', true],
    ['allkeys-random', true],
  ])('%s -> %s', (policy, expected) => {
    expect(isEvictingPolicy(policy)).toBe(expected);
  });
});
