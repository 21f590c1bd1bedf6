import { startRedisCluster, type RedisCluster } from '@flotilla/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitForReady } from '../src/index.js';
import { clientPool } from './client-pool.js';

const pool = clientPool();
let cluster: RedisCluster;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3 });
});
afterEach(() => pool.closeAll());
afterAll(async () => {
  await cluster?.stop();
});

describe('redis+cluster://', () => {
  it('spreads keys over all masters and runs multi-key commands on one hash tag', async () => {
    const seed = cluster.masters[0]!.server;
    const client = pool.open({ url: `redis+cluster://127.0.0.1:${seed.port}`, role: 'producer' });
    await waitForReady(client, 10_000);

    const keys = Array.from({ length: 30 }, (_, i) => `cluster:key:${i}`);
    for (const key of keys) expect(await client.set(key, key)).toBe('OK');
    for (const key of keys) expect(await client.get(key)).toBe(key);
    const perNode = await Promise.all(
      cluster.masters.map(async ({ server }) => {
        const direct = pool.open({ url: server.url, role: 'producer' });
        await waitForReady(direct, 5_000);
        return await direct.dbsize();
      }),
    );
    expect(perNode.every((count) => count > 0)).toBe(true);
    expect(perNode.reduce((a, b) => a + b, 0)).toBe(keys.length);

    expect(await client.mset('{job:42}:data', 'd', '{job:42}:state', 'waiting')).toBe('OK');
    expect(await client.mget('{job:42}:data', '{job:42}:state')).toEqual(['d', 'waiting']);
    await expect(client.mset('job:a', '1', 'job:b', '2')).rejects.toThrow(/CROSSSLOT/);
  });
});
