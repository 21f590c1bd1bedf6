import { startRedisCluster, type RedisCluster } from '@flotilla/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { LuaScript, runScripts, spreadHashTags, waitForReady } from '../src/index.js';
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

  it('runs scripts over several slots in one pipeline per master', async () => {
    const client = pool.open({ url: cluster.url, role: 'producer' });
    await waitForReady(client, 10_000);
    const echo = new LuaScript(`return redis.call('INCR', KEYS[1])`);
    // Two tags per master: slots spread round the ring, six tags on three equal runs of slots.
    const keys = spreadHashTags('run-scripts', 6).map((tag) => `{${tag}}:n`);
    const masters = await Promise.all(keys.map(async (key) => (await cluster.masterOf(key)).id));
    expect(new Set(masters).size).toBe(3);
    await Promise.all(cluster.masters.map((master) => echo.preload(master.admin)));
    const before = await Promise.all(cluster.masters.map(({ admin }) => evalshaCalls(admin)));

    const pipelines = vi.spyOn(client, 'pipeline');
    const replies = await runScripts(
      client,
      keys.map((key) => ({ script: echo, keys: [key], args: [] })),
    );
    expect(replies).toEqual([1, 1, 1, 1, 1, 1]);
    expect(pipelines).toHaveBeenCalledTimes(3);
    const after = await Promise.all(cluster.masters.map(({ admin }) => evalshaCalls(admin)));
    expect(after.map((calls, i) => calls - (before[i] ?? 0))).toEqual([2, 2, 2]);
  });
});

async function evalshaCalls(admin: RedisCluster['masters'][number]['admin']): Promise<number> {
  return Number(/cmdstat_evalsha:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);
}
