import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { SharedSubscriber, createRedis, waitForReady, type RedisClient } from '@flotilla/redis';
import { startRedisCluster, waitFor, type ClusterNode, type RedisCluster } from '@flotilla/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CacheKeys } from '../src/cache-keys.js';
import { Cache, type CacheOptions } from '../src/index.js';

// A real three-master Redis Cluster, slots split evenly as `redis-cli --cluster create` does:
// a cache of three key groups must put one group on each master, and still read, write and
// invalidate through one cluster client as a cache of one group does.
let cluster: RedisCluster;
const clients: RedisClient[] = [];
const caches: Cache[] = [];
const redisOf = new WeakMap<Cache<string>, RedisClient>();

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3 });
});
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
  for (const client of clients.splice(0)) client.disconnect();
});
afterAll(async () => {
  await cluster?.stop();
});

const NAME = 'pages';

function open(role: 'producer' | 'subscriber'): RedisClient {
  // Commands wait out a paused master (below) instead of the producer's 5 s timeout.
  const client = createRedis({ url: cluster.url, role, commandTimeoutMs: 30_000 });
  (client as EventEmitter).on('error', () => {});
  clients.push(client);
  return client;
}

/** A cache as one process of the fleet holds it: its own cluster command and pub/sub connections. */
async function instance(prefix: string, options: Partial<CacheOptions<string>> = {}): Promise<Cache<string>> {
  const redis = open('producer');
  await waitForReady(redis, 10_000);
  const cache = await Cache.create<string>({
    name: NAME,
    prefix,
    groups: 3,
    // No statistics flush during a test: it would be one more script on group 0's master.
    statsFlushMs: 600_000,
    ackTimeoutMs: 20_000,
    ...options,
    redis,
    subscriber: new SharedSubscriber(open('subscriber')),
  });
  caches.push(cache as Cache);
  redisOf.set(cache, redis);
  return cache;
}

async function scanCount(node: ClusterNode, pattern: string): Promise<number> {
  let cursor = '0';
  let count = 0;
  do {
    const [next, keys] = await node.admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    count += keys.length;
  } while (cursor !== '0');
  return count;
}

async function evalshaCalls(node: ClusterNode): Promise<number> {
  return Number(/cmdstat_evalsha:calls=(\d+)/.exec(await node.admin.info('commandstats'))?.[1] ?? 0);
}

const uniquePrefix = (): string => `c-${randomBytes(4).toString('hex')}:`;
const keyList = (count: number): string[] => Array.from({ length: count }, (_, i) => `/articles/${i}`);

describe('a cache of three key groups on a three-master cluster', () => {
  it('spreads its entries over all three masters (one group: all on one)', async () => {
    const prefix = uniquePrefix();
    const layout = new CacheKeys(prefix, NAME, 3);
    const masters = await Promise.all(layout.groups.map(async (group) => (await cluster.masterOf(group.anchor)).id));
    expect(new Set(masters).size).toBe(3);

    const spread = await instance(prefix);
    await spread.setMany(keyList(60).map((key) => ({ key, value: key, options: { tags: ['site'] } })));
    const perMaster = await Promise.all(cluster.masters.map((m) => scanCount(m, `${prefix}*:k:*`)));
    expect(
      perMaster.every((count) => count > 0),
      String(perMaster),
    ).toBe(true);
    expect(perMaster.reduce((a, b) => a + b)).toBe(60);
    // Each master holds its group's copy of the tag generation.
    expect(await Promise.all(cluster.masters.map((m) => scanCount(m, `${prefix}*:t:site`)))).toEqual([1, 1, 1]);

    const onePrefix = uniquePrefix();
    const one = await instance(onePrefix, { groups: 1 });
    await one.setMany(keyList(60).map((key) => ({ key, value: key })));
    const perMasterOne = await Promise.all(cluster.masters.map((m) => scanCount(m, `${onePrefix}*:k:*`)));
    expect([...perMasterOne].sort((a, b) => a - b)).toEqual([0, 0, 60]);
  });

  it('answers getMany over 30 keys through the cluster client with one script per master', async () => {
    const prefix = uniquePrefix();
    const writer = await instance(prefix);
    const keys = keyList(30);
    const stored = keys.filter((_, i) => i % 3 !== 0);
    await writer.setMany(stored.map((key, i) => ({ key, value: `v${key}`, options: { tags: [`t${i % 4}`] } })));
    const reader = await instance(prefix, { l1: false });
    await reader.get(keys[1]!);

    const pipelines = vi.spyOn(redisOf.get(reader)!, 'pipeline');
    const before = await Promise.all(cluster.masters.map(evalshaCalls));
    const hits = await reader.getMany(keys);
    const after = await Promise.all(cluster.masters.map(evalshaCalls));

    expect(hits.map((hit) => hit?.value)).toEqual(keys.map((key) => (stored.includes(key) ? `v${key}` : undefined)));
    // One read script per group, one pipeline per master: one round trip to each.
    expect(after.map((calls, i) => calls - (before[i] ?? 0))).toEqual([1, 1, 1]);
    expect(pipelines).toHaveBeenCalledTimes(3);
  });

  it('invalidates a tag in every group; while one master lags, only its group still holds valid entries', async () => {
    const prefix = uniquePrefix();
    const layout = new CacheKeys(prefix, NAME, 3);
    // a invalidates; b reads Redis only (no memory tier); c keeps the entries in memory.
    const [a, b, c] = [await instance(prefix), await instance(prefix, { l1: false }), await instance(prefix)];
    const keys = keyList(30);
    await a.setMany(keys.map((key) => ({ key, value: key, options: { tags: ['article:1'] } })));
    await a.set('/about', 'about', { tags: ['about'] });
    // Every group's write message reached c before it fills its memory (see the end of the test).
    const writeMessages = new Set(keys.map((key) => layout.groupOf(key).index)).size + 1;
    await waitFor(() => c.stats().invalidationsReceived === writeMessages);
    for (const peer of [b, c]) expect((await peer.getMany([...keys, '/about'])).every((hit) => hit?.value)).toBe(true);
    expect(keys.every((key) => c.peek(key)?.tier === 'l1')).toBe(true);

    // The master of group 2 holds writes (and scripts) back: its bump cannot happen yet.
    const lastGroup = layout.groups[2]!;
    const lagging = await cluster.masterOf(lastGroup.anchor);
    const generation = (group: number): Promise<string | null> =>
      cluster.masterOf(layout.groups[group]!.anchor).then((m) => m.admin.get(layout.groups[group]!.tag('article:1')));
    const old = await Promise.all([0, 1, 2].map(generation));
    await lagging.admin.call('CLIENT', 'PAUSE', '25000', 'WRITE');
    let resolved = false;
    const invalidation = a.invalidateTags(['article:1']).then(() => (resolved = true));
    try {
      await waitFor(async () => (await generation(0)) !== old[0] && (await generation(1)) !== old[1], {
        description: 'groups 0 and 1 moved on',
      });
      // Groups 0 and 1 no longer serve the tag's entries; group 2 still would: its copy of the
      // generation is the one its entries recorded. The call has not returned.
      const moved = keys.filter((key) => layout.groupOf(key).index !== 2);
      const lagged = keys.filter((key) => layout.groupOf(key).index === 2);
      expect(lagged.length).toBeGreaterThan(0);
      expect(await b.getMany(moved)).toEqual(moved.map(() => undefined));
      expect(await generation(2)).toBe(old[2]);
      const raw = await lagging.admin.get(lastGroup.entry(lagged[0]!));
      expect(raw).toContain(`article:1${old[2]},`);
      expect(resolved).toBe(false);
    } finally {
      await lagging.admin.call('CLIENT', 'UNPAUSE');
    }
    await invalidation;

    // Once it returned: no group serves them from Redis, to any process.
    expect(await generation(2)).not.toBe(old[2]);
    for (const cache of [a, b]) expect(await cache.getMany(keys)).toEqual(keys.map(() => undefined));
    // The peer that kept them in memory dropped them there, and nothing else. Polled: on a
    // Cluster, PUBLISH counts only the subscribers of the node it ran on, so the call can
    // return before every peer has acknowledged (as with one group; see docs/caching.md).
    await waitFor(() => keys.every((key) => c.peek(key) === undefined));
    expect(c.peek('/about')?.value).toBe('about');
    expect(await c.getMany(keys)).toEqual(keys.map(() => undefined));
  });

  it('skips a write fenced before an invalidation, in every group, against each master’s own clock', async () => {
    const prefix = uniquePrefix();
    const [writer, peer] = [await instance(prefix), await instance(prefix)];
    const keys = keyList(12);
    const fence = await writer.fence();
    expect(fence.split(',')).toHaveLength(3);
    await peer.invalidateTags(['article:2']);
    await writer.setMany(keys.map((key) => ({ key, value: 'before', options: { tags: ['article:2'], fence } })));
    expect(await peer.getMany(keys)).toEqual(keys.map(() => undefined));

    const after = await writer.fence();
    await writer.setMany(keys.map((key) => ({ key, value: 'after', options: { tags: ['article:2'], fence: after } })));
    expect((await peer.getMany(keys)).map((hit) => hit?.value)).toEqual(keys.map(() => 'after'));
  });
});
