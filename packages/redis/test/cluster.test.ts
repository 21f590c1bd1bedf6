import { freePort, startRedisServer, type RedisServer } from '@flotilla/local-redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitForReady, type RedisClient } from '../src/index.js';
import { clientPool } from './client-pool.js';

const pool = clientPool();
const nodes: { server: RedisServer; busPort: number }[] = [];
const SLOT_RANGES = [
  [0, 5460],
  [5461, 10922],
  [10923, 16383],
] as const;

async function startClusterNode(): Promise<{ server: RedisServer; busPort: number }> {
  // An explicit bus port: the default (port + 10000) may be taken or above 65535.
  const busPort = await freePort();
  const server = await startRedisServer({
    args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-port', String(busPort)],
  });
  return { server, busPort };
}

async function clusterIsOk(admin: RedisClient): Promise<boolean> {
  return /cluster_state:ok/.test(String(await admin.call('CLUSTER', 'INFO')));
}

beforeAll(async () => {
  nodes.push(...(await Promise.all(SLOT_RANGES.map(() => startClusterNode()))));
  const admins = nodes.map(({ server }) => pool.open({ url: server.url, role: 'producer' }));
  await Promise.all(admins.map((admin) => waitForReady(admin, 5_000)));
  await Promise.all(
    admins.map((admin, i) => admin.call('CLUSTER', 'ADDSLOTSRANGE', SLOT_RANGES[i]![0], SLOT_RANGES[i]![1])),
  );
  for (const { server, busPort } of nodes.slice(1)) {
    await admins[0]!.call('CLUSTER', 'MEET', '127.0.0.1', server.port, busPort);
  }
  const deadline = Date.now() + 15_000;
  while (!(await Promise.all(admins.map(clusterIsOk))).every(Boolean)) {
    if (Date.now() > deadline) throw new Error('the local cluster did not reach cluster_state:ok');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  pool.closeAll();
});
afterEach(() => pool.closeAll());
afterAll(async () => {
  await Promise.all(nodes.splice(0).map(({ server }) => server.stop()));
});

describe('redis+cluster://', () => {
  it('spreads keys over all masters and runs multi-key commands on one hash tag', async () => {
    const seed = nodes[0]!.server;
    const client = pool.open({ url: `redis+cluster://127.0.0.1:${seed.port}`, role: 'producer' });
    await waitForReady(client, 10_000);

    const keys = Array.from({ length: 30 }, (_, i) => `cluster:key:${i}`);
    for (const key of keys) expect(await client.set(key, key)).toBe('OK');
    for (const key of keys) expect(await client.get(key)).toBe(key);
    const perNode = await Promise.all(
      nodes.map(async ({ server }) => {
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
